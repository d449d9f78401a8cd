"""``scorecast serve``: the REST API, the scheduler and the workers in one process.

Start-up: the store is migrated (Alembic, safe with several processes), a first start on an
empty store creates the organization ``default`` with the admin user ``admin`` and prints its
API token once, then uvicorn serves the API while a worker (``--workers`` concurrent jobs) and a
scheduler run in background threads. SIGINT/SIGTERM stop all three: running jobs go back to the
queue and run again on the next start.

``--demo`` also registers a demo model and job definition and runs it once (see
``scorecast.demo``), printing where the scored file is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scorecast.config import Settings

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


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    *,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="TCP port (0: any free port).")
    ] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Jobs run at the same time.")] = 2,
    demo: Annotated[
        bool, typer.Option("--demo", help="Set up and run the demo definition, then keep serving.")
    ] = False,
    scheduler: Annotated[bool, typer.Option(help="Run the scheduler in this process.")] = True,
    lease_seconds: Annotated[
        float,
        typer.Option(help="Job lease: a job whose worker is silent this long runs again."),
    ] = 30.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    keep_alive: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="SCORECAST_KEEP_ALIVE_SECONDS",
            help="Seconds an idle HTTP connection stays open (keep it above clients' polls).",
        ),
    ] = DEFAULT_KEEP_ALIVE_SECONDS,
) -> None:
    """Serve the API with the scheduler and workers (state in $SCORECAST_HOME)."""
    _configure_logging(log_level)
    if demo:
        _add_demo_root()
    settings = Settings.from_env()
    import uvicorn

    from scorecast.api.app import create_app
    from scorecast.runtime.scheduler import Scheduler
    from scorecast.runtime.worker import Worker

    engine = _open_store(settings)
    token = _bootstrap(engine)
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    endpoint = f"http://{_display_host(host)}:{bound_port}/api/v2"
    app = create_app(settings, engine)
    worker = Worker(settings, engine, slots=workers, lease_seconds=lease_seconds)
    loop = Scheduler(engine) if scheduler else None
    config = uvicorn.Config(
        app,
        log_level=log_level.lower(),
        ws="none",
        lifespan="on",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=keep_alive,
    )
    server = _server_class(uvicorn)(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            threading.Event().wait(0.05)
        if not server.started:
            return
        _echo(f"scorecast is serving at {endpoint}  (API docs: {endpoint[:-7]}/docs)")
        if token is not None:
            _echo("first start: created organization 'default' and user 'admin'; API token:")
            _echo(f"    {token}")
            _echo("(shown once; make more with: scorecast token create --org default --user NAME)")
        _echo(f"state folder: {settings.home}")
        if demo:
            _run_demo(settings, engine, endpoint, token)

    worker.start()
    if loop is not None:
        loop.start()
    threading.Thread(target=announce, name="scorecast-announce", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        _echo("stopping: waiting for the worker and the scheduler")
        if loop is not None:
            loop.stop()
        worker.stop()
        engine.dispose()
        sock.close()
    if not server.started:
        raise typer.Exit(1)


def _server_class(uvicorn: Any) -> Any:
    """uvicorn's Server, except that a SIGINT/SIGTERM it shut down for is not raised again on
    the way out (which would kill the process before the worker puts its jobs back)."""

    class Server(uvicorn.Server):  # type: ignore[misc]
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

    return Server


def _open_store(settings: Settings) -> Engine:
    """The store's engine, its schema migrated first in a child process (Alembic would stay in
    this long-lived process for nothing: about 13 MB)."""
    from scorecast.child_process import call_in_child
    from scorecast.store.db import create_engine_for

    settings.home.mkdir(parents=True, exist_ok=True)
    call_in_child("scorecast.store.db", "migrate", settings.database_url)
    return create_engine_for(settings.database_url)


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

    folder = demo_dir(Settings.from_env())
    folder.mkdir(parents=True, exist_ok=True)
    roots = [p for p in os.environ.get("SCORECAST_FILE_ROOTS", "").split(os.pathsep) if p]
    if str(folder.resolve()) not in roots:
        os.environ["SCORECAST_FILE_ROOTS"] = os.pathsep.join([*roots, str(folder.resolve())])


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from scorecast.errors import InvalidInput

        raise InvalidInput.at("port", f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _echo(line: str) -> None:
    print(line, flush=True)


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("scorecast")
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
