"""``scorecast serve``: the REST API, the scheduler and the workers in one process.

Start-up: the settings, the key, the state folder and the storage are checked and the port is
taken (a port in use exits 1 before the store is touched); then the store is connected to once
(``cli.store_url``) and migrated (Alembic, safe with several processes), a first start on an
empty store creates the organization ``default`` with the admin user ``admin`` and prints its
API token once, then uvicorn serves the API while a worker (``--workers`` concurrent jobs), a
scheduler and the notification sender run in background threads. SIGINT/SIGTERM stop them
all: running jobs go back to the queue and run again on the next start.

``--roles`` chooses what the process runs (default all three): ``api`` (uvicorn), ``scheduler``
and ``worker`` (a process with either of these two also delivers notifications), so that
several processes sharing one PostgreSQL store can split the work, e.g. API processes behind a
load balancer and worker processes elsewhere. A process without ``api`` runs its threads until
SIGINT/SIGTERM.

``--api-processes N`` (``SCORECAST_API_PROCESSES``) serves the API from N processes sharing
its socket, on either store (``cli/api_processes.py``).

``--demo`` also registers a demo model and job definition and runs it once (see
``scorecast.demo``), printing where the scored file is.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scorecast.cli.uvicorn_server import server_class, uvicorn_config, wait_started
from scorecast.config import Settings
from scorecast.process_privacy import keep_memory_private
from scorecast.state_folder import make_owner_only

if TYPE_CHECKING:
    from sqlalchemy import Engine

ADMIN_ORG = "default"
ADMIN_USER = "admin"
#: How long an idle HTTP connection stays open. uvicorn's own default (5 s) equals the official
#: client's poll interval, and the client does not retry a request on a reused connection that
#: the server closed meanwhile ("Connection reset by peer"); 75 s is far above any client's
#: poll interval (and above the 60 s idle timeout of common load balancers, so that they, not
#: we, close idle connections).
DEFAULT_KEEP_ALIVE_SECONDS = 75
#: The interpreter's thread switch interval when the API runs beside background loops.
API_SWITCH_INTERVAL_SECONDS = 0.001


#: The shortest job lease ``--lease-seconds`` takes: a worker renews its leases every third of
#: it (at least every 0.2 s), so a shorter lease would expire between two renewals.
MIN_LEASE_SECONDS = 1.0
#: The longest: a silent worker's job waits this long at most before it runs again (and a
#: lease end must stay a date the store can hold).
MAX_LEASE_SECONDS = 86400.0
LOG_LEVELS = ("debug", "info", "warning", "error")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def _log_level(value: str) -> str:
    """``--log-level`` in lower case; a usage error (exit 2) unless it is one of
    ``LOG_LEVELS``."""
    level = value.strip().lower()
    if level not in LOG_LEVELS:
        raise typer.BadParameter(
            f"{value!r} is not one of {', '.join(LOG_LEVELS)}", param_hint="--log-level"
        )
    return level


def _lease_seconds(value: float) -> float:
    """``--lease-seconds``: a usage error (exit 2) for ``nan`` and ``inf``, which the range
    check lets through (every comparison with NaN is false)."""
    if not math.isfinite(value):
        raise typer.BadParameter(
            f"{value} is not a number of seconds ({MIN_LEASE_SECONDS:g} to {MAX_LEASE_SECONDS:g})",
            param_hint="--lease-seconds",
        )
    return value


def serve(
    *,
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, metavar="PORT", help="TCP port (0: any free port).")
    ] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, metavar="N", help="Jobs run at the same time.")
    ] = 2,
    demo: Annotated[
        bool, typer.Option("--demo", help="Set up and run the demo definition, then keep serving.")
    ] = False,
    scheduler: Annotated[bool, typer.Option(help="Run the scheduler in this process.")] = True,
    lease_seconds: Annotated[
        float,
        typer.Option(
            min=MIN_LEASE_SECONDS,
            max=MAX_LEASE_SECONDS,
            metavar="SECONDS",
            callback=_lease_seconds,
            help="Job lease: a job whose worker is silent this long runs again.",
        ),
    ] = 30.0,
    log_level: Annotated[
        str,
        typer.Option(metavar="LEVEL", callback=_log_level, help="debug, info, warning or error."),
    ] = "info",
    keep_alive: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="SECONDS",
            envvar="SCORECAST_KEEP_ALIVE_SECONDS",
            help="Seconds an idle HTTP connection stays open (keep it above clients' polls).",
        ),
    ] = DEFAULT_KEEP_ALIVE_SECONDS,
    roles: Annotated[
        str,
        typer.Option(
            metavar="ROLES",
            help="What this process runs, comma-separated: api, scheduler, worker.",
        ),
    ] = "api,scheduler,worker",
    api_processes: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="N",
            envvar="SCORECAST_API_PROCESSES",
            help="Processes serving the API (the scheduler and workers stay in one).",
        ),
    ] = 1,
) -> None:
    """Serve the API with the scheduler and workers (state in $SCORECAST_HOME)."""
    chosen = _roles(roles, scheduler)
    if demo and not {"api", "worker"} <= chosen:
        raise typer.BadParameter("--demo needs the api and worker roles", param_hint="--roles")
    from scorecast import log_format

    log_format.configure(Settings.from_env().log_format, log_level)
    keep_memory_private()  # before the key is read: children cannot read it from this process
    make_owner_only(Settings.from_env().home)
    if demo:
        _add_demo_root()
    settings = Settings.from_env()
    _check_secret_key(settings)
    _check_storage(settings)
    _check_dask(settings, chosen)
    # the port is taken before the store is opened: a port in use stops the start before a
    # worker or a scheduler works on the store, and before a first start makes a token unseen
    api = (
        _Api(host, port, log_level, keep_alive, processes=api_processes)
        if "api" in chosen
        else None
    )
    try:
        _serve_store(settings, chosen, api, workers=workers, lease_seconds=lease_seconds, demo=demo)
    finally:
        if api is not None:
            api.sock.close()


def _serve_store(
    settings: Settings,
    chosen: set[str],
    api: _Api | None,
    *,
    workers: int,
    lease_seconds: float,
    demo: bool,
) -> None:
    """Open the store, then run the roles chosen on it until SIGINT or SIGTERM."""
    from scorecast.metrics import Metrics

    engine = _open_store(settings)
    token = _bootstrap(engine)
    metrics = Metrics(engine)
    loops = _background_loops(
        settings, engine, metrics, chosen, workers=workers, lease_seconds=lease_seconds
    )
    for started in loops:
        started.start()
    if api is not None and loops:
        # the API shares the interpreter with busy background loops (a scheduler firing a
        # large batch): a request thread waiting for the GIL gets it back within this interval
        # at each of its I/O calls, instead of Python's default 5 ms
        sys.setswitchinterval(API_SWITCH_INTERVAL_SECONDS)
    try:
        if api is not None:
            api.run(settings, engine, metrics, token, demo=demo)
        else:
            _run_without_api(settings, token, chosen)
    finally:
        _echo("stopping: waiting for the worker and the scheduler")
        for running in reversed(loops):
            running.stop()
        engine.dispose()


def _background_loops(
    settings: Settings,
    engine: Engine,
    metrics: Any,
    chosen: set[str],
    *,
    workers: int,
    lease_seconds: float,
) -> list[Any]:
    """The threads of the roles chosen, in start order (each has ``start()`` and ``stop()``):
    the worker, the scheduler and the backfill pump, and the notification sender of a process
    with either role."""
    from scorecast.runtime.backfill_pump import BackfillPump
    from scorecast.runtime.notification_sender import NotificationSender
    from scorecast.runtime.scheduler import Scheduler
    from scorecast.runtime.worker import Worker

    loops: list[Any] = []
    if "worker" in chosen:
        worker = Worker(settings, engine, slots=workers, lease_seconds=lease_seconds)
        metrics.watch_worker(workers, lambda: len(worker.running_jobs))
        loops.append(worker)
    if "scheduler" in chosen:
        loops.append(Scheduler(engine, metrics=metrics, lanes=settings.scheduler_lanes))
    if chosen & {"worker", "scheduler"}:
        loops.append(NotificationSender(settings, engine))
    if "scheduler" in chosen:
        loops.append(BackfillPump(engine, settings))
    return loops


def _check_storage(settings: Settings) -> None:
    """Open the storage once at start, so that a missing extra or an unusable URL stops the
    server with its message rather than failing the first upload or job; move the files of a
    home written before segments into today's layout (``connectors.legacy_localfile``)."""
    from scorecast.connectors.legacy_localfile import upgrade_legacy_files
    from scorecast.connectors.storage import open_storage

    store = open_storage(settings)
    store.prepare()  # a file where a storage folder belongs stops the server here
    upgrade_legacy_files(store)


def _check_secret_key(settings: Settings) -> None:
    """Read the credential key once at start (creating the key file on a first start), so
    that a ``SCORECAST_SECRET_KEY`` or key file that is not a Fernet key stops the server with
    one line instead of failing every request and job that needs it."""
    from scorecast.service.secrets import SecretBox

    SecretBox.from_settings(settings)


def _check_dask(settings: Settings, chosen: set[str]) -> None:
    """A worker told to use a Dask cluster needs the ``dask`` extra: say so at start."""
    import importlib.util

    from scorecast.errors import MissingExtra

    wanted = bool(settings.dask_address) and "worker" in chosen
    if wanted and importlib.util.find_spec("distributed") is None:
        raise MissingExtra("distributed", "dask")


ROLES = ("api", "scheduler", "worker")


def _roles(value: str, scheduler: bool) -> set[str]:
    chosen = {part.strip().lower() for part in value.split(",") if part.strip()}
    unknown = sorted(chosen - set(ROLES))
    if unknown or not chosen:
        raise typer.BadParameter(
            f"roles are a comma-separated list of {', '.join(ROLES)}"
            + (f"; {', '.join(unknown)} is not one" if unknown else ""),
            param_hint="--roles",
        )
    if not scheduler:
        chosen.discard("scheduler")
    if not chosen:
        raise typer.BadParameter(
            "--no-scheduler leaves no role to run; name api or worker too", param_hint="--roles"
        )
    return chosen


class _Api:
    """The HTTP side of ``serve``: uvicorn on a bound socket, and the start-up lines."""

    def __init__(
        self, host: str, port: int, log_level: str, keep_alive: int, *, processes: int = 1
    ) -> None:
        self.sock = _bind(host, port)
        self.endpoint = f"http://{_display_host(host)}:{self.sock.getsockname()[1]}/api/v2"
        self.log_level, self.keep_alive = log_level, keep_alive
        self.processes = processes

    def run(
        self, settings: Settings, engine: Engine, metrics: Any, token: str | None, *, demo: bool
    ) -> None:
        import uvicorn

        from scorecast.api.app import create_app

        app = create_app(settings, engine, metrics=metrics)
        config = uvicorn_config(uvicorn, app, settings, self.log_level, self.keep_alive)
        server = server_class(uvicorn)(config)

        from scorecast.cli import api_processes, heap

        extra = api_processes.start_extra(
            self.processes - 1, self.sock, self.log_level, self.keep_alive
        )

        def announce() -> None:
            if not wait_started(server):
                return
            if not api_processes.wait_serving(extra, lambda: bool(server.should_exit)):
                if server.should_exit:
                    return
                _echo("an extra API process ended before serving (see the log); serving without it")
            endpoint = self.endpoint
            _echo(f"scorecast is serving at {endpoint}  (API docs: {endpoint[:-7]}/docs)")
            _announce_token(token)
            _echo(f"state folder: {settings.home}")
            if demo:
                _run_demo(settings, engine, endpoint, token)

        threading.Thread(target=announce, name="scorecast-announce", daemon=True).start()
        heap.settle()  # the app and the background loops are made: freeze them
        try:
            server.run(sockets=[self.sock])
        finally:
            api_processes.stop_extra(extra)
            self.sock.close()
        if not server.started:
            raise typer.Exit(1)


def _run_without_api(settings: Settings, token: str | None, chosen: set[str]) -> None:
    """Run the worker and/or scheduler threads until SIGINT or SIGTERM."""
    stop = threading.Event()
    originals = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        _echo(f"scorecast is running: {', '.join(sorted(chosen))} (no API in this process)")
        _announce_token(token)
        _echo(f"state folder: {settings.home}")
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in originals.items():
            signal.signal(sig, handler)


def _announce_token(token: str | None) -> None:
    if token is not None:
        _echo("first start: created organization 'default' and user 'admin'; API token:")
        _echo(f"    {token}")
        _echo("(shown once; make more with: scorecast token create --org default --user NAME)")


def _open_store(settings: Settings) -> Engine:
    """The store's engine, its schema migrated first in a child process (Alembic would stay in
    this long-lived process for nothing: about 13 MB)."""
    from scorecast.child_process import call_in_child
    from scorecast.cli.store_url import check_store_url
    from scorecast.store.db import create_engine_for

    settings.home.mkdir(parents=True, exist_ok=True)
    check_store_url(settings.database_url)
    call_in_child("scorecast.store.db", "migrate", settings.database_url)
    return create_engine_for(settings.database_url, pool_size=settings.database_pool_size)


def _bootstrap(engine: object) -> str | None:
    """On an empty store: organization, admin user and a token (returned); else None."""
    from sqlalchemy import Engine
    from sqlalchemy.exc import IntegrityError

    from scorecast.service import accounts
    from scorecast.store.db import session_scope

    assert isinstance(engine, Engine)
    try:
        with session_scope(engine, immediate=True) as session:
            if accounts.has_organizations(session):
                return None
            return accounts.create_token(
                session, ADMIN_ORG, ADMIN_USER, full_name="Administrator", is_admin=True
            )
    except IntegrityError:
        return None  # another process bootstrapped the same store at the same moment


def _run_demo(settings: Settings, engine: object, endpoint: str, token: str | None) -> None:
    from sqlalchemy import Engine

    from scorecast import demo
    from scorecast.errors import ScorecastError

    assert isinstance(engine, Engine)
    caller = demo.admin_caller(engine)
    if caller is None:
        _echo("demo: no admin user in this store; skipped")
        return
    try:
        setup = demo.install_demo(settings, engine, caller)
        _echo(
            f"demo: deployment {setup.deployment_id}, job definition "
            f"'{demo.DEFINITION_NAME}' ({setup.definition_id}); running it once ..."
        )
        job = demo.run_demo(engine, caller, setup)
    except ScorecastError as exc:
        _echo(f"demo: failed: {exc.message}")
        return
    if job.status != "COMPLETED":
        _echo(f"demo: job {job.id} ended {job.status}: {job.status_details}")
        return
    _echo(f"demo: job {job.id} COMPLETED: {job.scored_rows} rows scored")
    _echo(f"demo: scored file: {setup.output_path}")
    shown = token or "<your token>"
    _echo("try the API (the official datarobot client works too):")
    _echo(f'    curl -H "Authorization: Token {shown}" {endpoint}/batchPredictions/{job.id}/')
    _echo("still serving; press Ctrl+C to stop")


def _add_demo_root() -> None:
    """Let the filesystem connector use $SCORECAST_HOME/demo (for the demo definition)."""
    from scorecast.demo import demo_dir
    from scorecast.state_folder import make_folder

    folder = demo_dir(Settings.from_env())
    make_folder(folder, "--demo")
    roots = [p for p in os.environ.get("SCORECAST_FILE_ROOTS", "").split(os.pathsep) if p]
    if str(folder.resolve()) not in roots:
        os.environ["SCORECAST_FILE_ROOTS"] = os.pathsep.join([*roots, str(folder.resolve())])


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``. A host that is no address is a usage error (exit
    2); a port that cannot be had (in use, privileged) stops the start with one line and exit
    1, as a server that could not start."""
    from scorecast.errors import InvalidInput

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except socket.gaierror as exc:
        sock.close()
        raise InvalidInput.at("--host", f"{host!r} is not an address: {exc.strerror}") from exc
    except OSError as exc:
        sock.close()
        typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror}", err=True)
        raise typer.Exit(1) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _echo(line: str) -> None:
    print(line, flush=True)
