"""Configuration, read from the environment once per process.

Precedence: explicit arguments > environment variables > defaults. On/off settings take
``true``/``1``/``yes``/``on`` or ``false``/``0``/``no``/``off`` (any case; unset or empty: the
default); anything else is refused (``InvalidInput``), like every value that cannot be used.
Variables:

- ``SCORECAST_HOME``: state folder (default ``~/.scorecast``): SQLite database, uploads,
  results, model artifacts, the generated secret key file.
- ``SCORECAST_DATABASE_URL``: SQLAlchemy URL of the store (default SQLite under the home).
- ``SCORECAST_STORAGE_URL``: where model artifacts, uploads, results and dataset files live,
  shared by every server: ``s3://bucket/prefix``, ``az://container/prefix``,
  ``gs://bucket/prefix`` or ``file:///folder``; default the home (``scorecast.home_layout``).
- ``SCORECAST_SECRET_KEY``: Fernet key encrypting credentials at rest (default: the key file
  ``$SCORECAST_HOME/secret.key``, generated on first start with mode 0600).
- ``SCORECAST_FILE_ROOTS``: folders the ``filesystem`` connector may read and write,
  separated by ``os.pathsep``; none by default.
- ``SCORECAST_ALLOW_PRIVATE_ENDPOINTS=1``: allow connector hosts that resolve to loopback,
  private or link-local addresses (self-hosted MinIO, a database on the same network).
- ``SCORECAST_ALLOW_LOCAL_DATABASES=1``: allow SQLite files as jdbc data stores.
- ``SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS``: organizations (names, comma-separated, or ``*``
  for all) whose jobs may use the server's own cloud identity (AWS environment keys, profiles
  and instance role; Google Application Default Credentials) when they give no credential or
  a credential without keys. Default none: such jobs reach only public data (unsigned S3
  requests, an anonymous GCS client).
- ``SCORECAST_AMBIENT_CLOUD_ENDPOINTS``: ``s3`` endpoint URLs (comma-separated) besides AWS's
  own to which that identity may be sent; any other ``endpointUrl`` needs a credential with
  keys (the identity's signature would carry the server's access key id there).
- ``SCORECAST_ENDPOINT`` / ``SCORECAST_TOKEN``: where CLI commands that use the API connect.
- ``SCORECAST_SCORING_PARALLELISM``: where a job's concurrent chunks score: ``auto`` (the
  default: per model, see ``scorecast.engine.pools``), ``threads`` (every model in threads of
  the job's process: the least memory) or ``processes`` (every model in worker processes).
- ``SCORECAST_ALLOW_PICKLE_MODELS=1``: load models whose loading runs code from the file
  (pickle, joblib, MLflow). Off by default: such models are then neither registered nor
  scored, whatever a request says (``trustPickle``). A model loaded this way runs as the service.
- ``SCORECAST_PICKLE_MODEL_ROLES``: with the above, which users may register such models,
  comma-separated: ``admin`` (organization administrators, the default) and/or ``user``
  (every user).
- ``SCORECAST_METRICS_PUBLIC=1``: serve ``GET /metrics`` without a token (for a Prometheus on
  a private network); by default it needs the token of an organization administrator, since its
  figures cover every organization.
- ``SCORECAST_LOG_FORMAT``: ``text`` (the default) or ``json`` (one JSON object per line, with
  the request id or job id, for log collectors).
- ``SCORECAST_DASK_ADDRESS``: the scheduler of a Dask cluster (``tcp://host:8786``; needs the
  ``dask`` extra) on which a worker server scores each job whose input can be split (files on
  the filesystem, S3, Azure or GCS), one task per part (``engine.dask_executor``); other jobs
  run locally. Unset by default: every job runs on the worker's machine.
- ``SCORECAST_FORWARDED_ALLOW_IPS``: the proxies whose ``X-Forwarded-Proto`` the API believes
  (addresses or networks, comma-separated, or ``*``; unset: uvicorn's ``FORWARDED_ALLOW_IPS``,
  else ``127.0.0.1,::1``): behind a TLS
  proxy on another machine, the links of every answer say ``https://`` only when it is named.
- ``SCORECAST_DEBRIS_SWEEP_SECONDS``: how often a worker removes staging files that crashed
  attempts left (``runtime.debris_sweep``); default 600, ``0`` switches the sweep off.
- Retention (``RetentionSettings``; what a job definition without a ``retention`` of its own
  keeps, and what jobs submitted without a definition keep; ``runtime.retention_sweep``):
  ``SCORECAST_RETENTION_MAX_JOBS`` (the newest jobs of each definition that keep their results),
  ``SCORECAST_RETENTION_MAX_AGE_DAYS`` (days a finished job keeps its results), both unset by
  default: everything is kept; ``SCORECAST_RETENTION_KEEP_LAST_SUCCESSFUL`` (default ``1``: the
  last completed job of a definition keeps its results whatever its age);
  ``SCORECAST_RETENTION_PRUNE_AFTER_DAYS`` (days after its results were deleted that a job's
  row is deleted, default 30, ``0`` = at once); ``SCORECAST_RETENTION_SWEEP_SECONDS`` (how
  often a worker applies retention, default 300, ``0`` = never); ``SCORECAST_RETENTION_BATCH``
  (jobs handled per sweep, default 500).
- Request and upload limits (``Limits``; each a whole number, ``0`` = no limit):
  ``SCORECAST_MAX_BODY_BYTES`` (JSON and every other body, default 1 MiB),
  ``SCORECAST_MAX_UPLOAD_BYTES`` (dataset and model file uploads, default 5 GiB),
  ``SCORECAST_MAX_LOCALFILE_BYTES`` (a localFile job's input, one body or one part, default
  0 = no limit: it streams to disk), ``SCORECAST_MAX_DATASET_COLUMNS`` (default 20,000) and
  ``SCORECAST_MAX_LINE_BYTES`` (one line of an uploaded dataset CSV, default 8 MiB).
- Email notifications (``Smtp``): ``SCORECAST_SMTP_HOST`` (none by default: email channels
  then fail their deliveries, saying so), ``SCORECAST_SMTP_PORT`` (default 25),
  ``SCORECAST_SMTP_USERNAME`` / ``SCORECAST_SMTP_PASSWORD`` (log in when a username is set),
  ``SCORECAST_SMTP_STARTTLS=1`` (upgrade the connection with STARTTLS before logging in) and
  ``SCORECAST_SMTP_FROM`` (the sender address, default ``scorecast@localhost``).
- Notification deliveries (``NotificationSettings``): ``SCORECAST_NOTIFICATION_TIMEOUT_SECONDS``
  (one whole attempt, default 10), ``SCORECAST_NOTIFICATION_RETRY_SECONDS`` (the first retry's
  delay, doubled for each next one, default 5, at least 1),
  ``SCORECAST_NOTIFICATION_RETRY_MAX_DELAY_SECONDS`` (default 3600, at least 1),
  ``SCORECAST_NOTIFICATION_RETRY_HOURS`` (give up after, default 24) and
  ``SCORECAST_NOTIFICATION_KEEP_DAYS`` (delivered and failed deliveries are removed after,
  default 30; ``0`` keeps them).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Literal, cast, get_args
from urllib.parse import urlsplit

from scorecast import home_layout
from scorecast.errors import InvalidInput

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """An on/off setting: ``true``/``1``/``yes``/``on`` or ``false``/``0``/``no``/``off`` (any
    case); ``default`` when unset or empty; ``InvalidInput`` naming ``name`` for anything else."""
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value not in _TRUE | _FALSE:
        raise InvalidInput(
            f"{name} must be true or false (1/0, yes/no, on/off), not {value!r}",
            {name: "not true or false"},
        )
    return value in _TRUE


ScoringParallelism = Literal["auto", "threads", "processes"]
LogFormat = Literal["text", "json"]


def _log_format(env: Mapping[str, str]) -> LogFormat:
    value = env.get("SCORECAST_LOG_FORMAT", "").strip().lower() or "text"
    if value not in get_args(LogFormat):
        raise InvalidInput(f"SCORECAST_LOG_FORMAT must be text or json, not {value!r}")
    return cast(LogFormat, value)


_SCORING_PARALLELISM: tuple[str, ...] = get_args(ScoringParallelism)


#: the user roles ``SCORECAST_PICKLE_MODEL_ROLES`` can name (see ``service.trusted_models``)
PICKLE_MODEL_ROLES = ("admin", "user")


def _pickle_model_roles(env: Mapping[str, str]) -> frozenset[str]:
    text = env.get("SCORECAST_PICKLE_MODEL_ROLES", "").strip() or "admin"
    roles = frozenset(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = sorted(roles - set(PICKLE_MODEL_ROLES))
    if unknown or not roles:
        raise InvalidInput(
            f"SCORECAST_PICKLE_MODEL_ROLES lists roles from {', '.join(PICKLE_MODEL_ROLES)}, "
            f"not {', '.join(unknown) or repr(text)}",
            {"SCORECAST_PICKLE_MODEL_ROLES": "unknown role"},
        )
    return roles


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return _amount(env, name, default, "seconds")


#: The longest time a setting takes, a century in its unit: a wait or a date beyond what the
#: platform's clock can hold (``1e300`` seconds) would crash the thread that uses it.
_LONGEST: Final = {"seconds": 100 * 365.25 * 86400, "hours": 100 * 365.25 * 24, "days": 36525.0}


def _amount(
    env: Mapping[str, str], name: str, default: float, unit: str, *, minimum: float = 0.0
) -> float:
    """A finite number of ``unit`` (``minimum`` or more; a time at most a century) from
    ``env[name]``, else ``default``."""
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = float("nan")
    longest = _LONGEST.get(unit, float("inf"))
    if not minimum <= value < float("inf") or value > longest:
        bounds = f"{minimum:g} or more" + (", at most a century" if unit in _LONGEST else "")
        raise InvalidInput(f"{name} must be a number of {unit} ({bounds}), not {raw!r}")
    return value


def origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower case, without the scheme's own port;
    None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of http(s) URLs, each as its ``origin``."""
    found: list[str] = []
    for item in env.get(name, "").split(","):
        if not item.strip():
            continue
        known = origin(item)
        if known is None:
            raise InvalidInput(f"{name}: {item.strip()!r} is not an http(s) URL")
        found.append(known)
    return tuple(found)


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidInput(f"{name} must be a whole number (1 or more), not {raw!r}")
    return value


def _forwarded_allow_ips(env: Mapping[str, str]) -> tuple[str, ...]:
    """``SCORECAST_FORWARDED_ALLOW_IPS``: comma-separated addresses or networks (``10.0.0.0/8``),
    or ``*`` for any; unset: empty (uvicorn's default: a proxy on this machine)."""
    raw = env.get("SCORECAST_FORWARDED_ALLOW_IPS", "").strip()
    if not raw:
        return ()
    entries = tuple(entry.strip() for entry in raw.split(","))
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise InvalidInput(
                "SCORECAST_FORWARDED_ALLOW_IPS must be addresses or networks separated by commas"
                f" (such as 10.0.0.5,10.1.0.0/16), or *: {entry!r} is neither"
            ) from None
    return entries


def _optional_count(env: Mapping[str, str], name: str) -> int | None:
    """``_count`` of a setting that may be left unset (None)."""
    return _count(env, name, 1) if env.get(name, "").strip() else None


STORAGE_SCHEMES = ("file", "s3", "az", "azure", "gs", "gcs")


def _storage_url(env: Mapping[str, str]) -> str:
    value = env.get("SCORECAST_STORAGE_URL", "").strip()
    if not value:
        return ""
    scheme, _, rest = value.partition("://")
    if scheme.lower() not in STORAGE_SCHEMES or not rest.strip("/"):
        raise InvalidInput(
            "SCORECAST_STORAGE_URL must be s3://bucket/prefix, az://container/prefix, "
            f"gs://bucket/prefix or file:///folder, not {value!r}",
            {"SCORECAST_STORAGE_URL": "not a storage URL"},
        )
    if scheme.lower() == "file":
        file_storage_folder(value)
    return value


def file_storage_folder(value: str) -> str:
    """The folder a ``file://`` storage URL names (percent-escapes decoded): an absolute folder
    on this machine, ``file:///folder`` (or ``file://localhost/folder``); ``InvalidInput``
    otherwise (``file://folder`` would make ``folder`` a host, and was written at the root)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(value)
    folder = unquote(parts.path)
    if parts.netloc.lower() not in ("", "localhost") or not folder.startswith("/"):
        raise InvalidInput(
            f"SCORECAST_STORAGE_URL must name an absolute folder as file:///folder (three "
            f"slashes), not {value!r}",
            {"SCORECAST_STORAGE_URL": "not an absolute file URL"},
        )
    return folder


DASK_SCHEMES = ("tcp", "tls", "ucx", "inproc", "ws", "wss")


def _dask_address(env: Mapping[str, str]) -> str:
    value = env.get("SCORECAST_DASK_ADDRESS", "").strip()
    scheme, _, rest = value.partition("://")
    if value and (scheme.lower() not in DASK_SCHEMES or not rest):
        raise InvalidInput(
            f"SCORECAST_DASK_ADDRESS must be a Dask scheduler address such as "
            f"tcp://host:8786, not {value!r}",
            {"SCORECAST_DASK_ADDRESS": "not a Dask scheduler address"},
        )
    return value


def _scoring_parallelism(env: Mapping[str, str]) -> ScoringParallelism:
    value = env.get("SCORECAST_SCORING_PARALLELISM", "").strip().lower() or "auto"
    if value not in _SCORING_PARALLELISM:
        raise InvalidInput(
            f"SCORECAST_SCORING_PARALLELISM must be one of {', '.join(_SCORING_PARALLELISM)}, "
            f"not {value!r}"
        )
    return cast(ScoringParallelism, value)


_MIB = 1 << 20


def _whole_number(
    env: Mapping[str, str], name: str, default: int, meaning: str = "0 = no limit"
) -> int:
    """A whole number (0 or more) from ``env[name]``, else ``default``; the message of a bad
    value says what it is (``meaning``)."""
    text = env.get(name, "").strip().replace("_", "")
    if not text:
        return default
    if not text.isdigit():
        raise InvalidInput(f"{name} must be a whole number ({meaning}), not {text!r}")
    return int(text)


@dataclass(frozen=True)
class Limits:
    """What one request may make the service hold or parse; ``0`` means no limit.

    A request over a limit is refused with a 4xx naming the limit and its setting, before the
    excess is read (``docs/reference/limits-and-errors.md``).
    """

    #: bytes of a request body other than the uploads below (JSON bodies are parsed in memory)
    body_bytes: int = _MIB
    #: bytes of a multipart upload (a dataset or a model file; spooled to disk, never in memory)
    upload_bytes: int = 5 << 30
    #: bytes of one localFile upload body or part (streamed to disk as the job reads it)
    localfile_bytes: int = 0
    #: columns of an uploaded dataset
    dataset_columns: int = 20_000
    #: bytes of one line of an uploaded dataset CSV (the header included)
    line_bytes: int = 8 * _MIB

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        return cls(
            body_bytes=_whole_number(env, "SCORECAST_MAX_BODY_BYTES", cls.body_bytes),
            upload_bytes=_whole_number(env, "SCORECAST_MAX_UPLOAD_BYTES", cls.upload_bytes),
            localfile_bytes=_whole_number(
                env, "SCORECAST_MAX_LOCALFILE_BYTES", cls.localfile_bytes
            ),
            dataset_columns=_whole_number(
                env, "SCORECAST_MAX_DATASET_COLUMNS", cls.dataset_columns
            ),
            line_bytes=_whole_number(env, "SCORECAST_MAX_LINE_BYTES", cls.line_bytes),
        )


def _optional_number(
    env: Mapping[str, str], name: str, unit: str = "days", longest: float = _LONGEST["days"]
) -> float | None:
    """A number of ``unit`` from 0 to ``longest`` from ``env[name]``, or None when unset."""
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= longest:
        raise InvalidInput(
            f"{name} must be a number of {unit} (0 to {longest:g}), or unset, not {text!r}"
        )
    return value


@dataclass(frozen=True)
class RetentionSettings:
    """The server's retention settings (see the module docstring); the default keeps all."""

    #: the newest jobs of a definition that keep their results; None: no limit
    max_jobs: int | None = None
    #: days a finished job keeps its results; None: no limit
    max_age_days: float | None = None
    #: the last completed job of a definition keeps its results whatever its rank and age
    keep_last_successful: bool = True
    #: days after its results were deleted that a job's row is deleted too
    prune_after_days: float = 30.0
    #: how often a worker applies retention (seconds, 0 = never)
    sweep_seconds: float = 300.0
    #: jobs whose results are deleted, and rows pruned, per sweep
    batch: int = 500

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetentionSettings:
        max_jobs = _optional_number(env, "SCORECAST_RETENTION_MAX_JOBS", "jobs", 2.0**62)
        if max_jobs is not None and not max_jobs.is_integer():
            raise InvalidInput(
                f"SCORECAST_RETENTION_MAX_JOBS must be a whole number, not {max_jobs}"
            )
        return cls(
            max_jobs=int(max_jobs) if max_jobs is not None else None,
            max_age_days=_optional_number(env, "SCORECAST_RETENTION_MAX_AGE_DAYS"),
            keep_last_successful=_flag(env, "SCORECAST_RETENTION_KEEP_LAST_SUCCESSFUL", True),
            prune_after_days=_optional_number(env, "SCORECAST_RETENTION_PRUNE_AFTER_DAYS") or 0.0
            if env.get("SCORECAST_RETENTION_PRUNE_AFTER_DAYS", "").strip()
            else cls.prune_after_days,
            sweep_seconds=_seconds(env, "SCORECAST_RETENTION_SWEEP_SECONDS", 300.0),
            batch=max(1, _whole_number(env, "SCORECAST_RETENTION_BATCH", 500, "jobs per sweep")),
        )


@dataclass(frozen=True)
class Smtp:
    """The SMTP server email notifications go through (``host`` None: none configured)."""

    host: str | None = None
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    sender: str = "scorecast@localhost"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Smtp:
        port = _whole_number(env, "SCORECAST_SMTP_PORT", cls.port, "a TCP port, 1 to 65535")
        if not 0 < port < 65536:
            raise InvalidInput(f"SCORECAST_SMTP_PORT must be a TCP port (1 to 65535), not {port}")
        return cls(
            host=env.get("SCORECAST_SMTP_HOST", "").strip() or None,
            port=port,
            username=env.get("SCORECAST_SMTP_USERNAME") or None,
            password=env.get("SCORECAST_SMTP_PASSWORD") or None,
            starttls=_flag(env, "SCORECAST_SMTP_STARTTLS"),
            sender=env.get("SCORECAST_SMTP_FROM", "").strip() or cls.sender,
        )


@dataclass(frozen=True)
class NotificationSettings:
    """How notification deliveries are attempted and retried (seconds)."""

    timeout_seconds: float = 10.0
    retry_seconds: float = 5.0
    retry_max_delay_seconds: float = 3600.0
    retry_hours: float = 24.0
    #: finished deliveries older than this are removed; 0 keeps them
    keep_days: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotificationSettings:
        return cls(
            timeout_seconds=_seconds(env, "SCORECAST_NOTIFICATION_TIMEOUT_SECONDS", 10.0) or 10.0,
            # below a second, a receiver that keeps failing is retried in a tight loop
            retry_seconds=_amount(
                env, "SCORECAST_NOTIFICATION_RETRY_SECONDS", 5.0, "seconds", minimum=1.0
            ),
            retry_max_delay_seconds=_amount(
                env,
                "SCORECAST_NOTIFICATION_RETRY_MAX_DELAY_SECONDS",
                3600.0,
                "seconds",
                minimum=1.0,
            ),
            retry_hours=_amount(env, "SCORECAST_NOTIFICATION_RETRY_HOURS", 24.0, "hours"),
            keep_days=_amount(env, "SCORECAST_NOTIFICATION_KEEP_DAYS", 30.0, "days"),
        )


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    secret_key: str | None = None
    file_roots: tuple[Path, ...] = ()
    allow_private_endpoints: bool = False
    allow_local_databases: bool = False
    endpoint: str = "http://127.0.0.1:8080/api/v2"
    token: str | None = None
    scoring_parallelism: ScoringParallelism = "auto"
    allow_pickle_models: bool = False
    pickle_model_roles: frozenset[str] = frozenset({"admin"})
    metrics_public: bool = False
    log_format: LogFormat = "text"
    ambient_cloud_identity_orgs: tuple[str, ...] = ()
    #: ``SCORECAST_AMBIENT_CLOUD_ENDPOINTS``: the origins (``scheme://host[:port]``) besides
    #: AWS's own where the server's own cloud identity may be sent (an S3 store the operator
    #: trusts)
    ambient_cloud_endpoints: tuple[str, ...] = ()
    debris_sweep_seconds: float = 600.0
    #: a job process runs at most this many jobs before it is replaced (1: a process per job)
    job_process_max_jobs: int = 500
    #: a job process whose resident size is above this after a job is replaced (0: no limit)
    job_process_max_rss_mb: float = 1024.0
    #: ``SCORECAST_DATABASE_POOL_SIZE``: connections a process keeps open to the store; None:
    #: the store's default (``store.db``: 10 for SQLite, 20 for PostgreSQL)
    database_pool_size: int | None = None
    #: ``SCORECAST_API_THREADS``: threads an API process runs its handlers in, at most
    api_threads: int = 8
    #: ``SCORECAST_SCHEDULER_LANES``: threads a scheduler fires batches in at once
    #: (PostgreSQL; SQLite has one)
    scheduler_lanes: int = 1
    #: ``SCORECAST_STORAGE_URL``; empty: the home (see ``connectors.storage``)
    storage_url: str = ""
    #: ``SCORECAST_DASK_ADDRESS``; empty: every job is scored on the worker's machine
    dask_address: str = ""
    #: ``SCORECAST_FORWARDED_ALLOW_IPS``: the proxies whose ``X-Forwarded-Proto`` and
    #: ``X-Forwarded-For`` the API believes (addresses or networks, or ``*``); empty: uvicorn's
    #: own default (``FORWARDED_ALLOW_IPS``, else ``127.0.0.1,::1``)
    forwarded_allow_ips: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    smtp: Smtp = field(default_factory=Smtp)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("SCORECAST_HOME") or Path.home() / ".scorecast").expanduser()
        database_url = (
            env.get("SCORECAST_DATABASE_URL") or f"sqlite:///{home_layout.database_file(home)}"
        )
        roots = tuple(
            Path(p).expanduser().resolve()
            for p in env.get("SCORECAST_FILE_ROOTS", "").split(os.pathsep)
            if p.strip()
        )
        return cls(
            home=home,
            database_url=database_url,
            secret_key=env.get("SCORECAST_SECRET_KEY") or None,
            file_roots=roots,
            allow_private_endpoints=_flag(env, "SCORECAST_ALLOW_PRIVATE_ENDPOINTS"),
            allow_local_databases=_flag(env, "SCORECAST_ALLOW_LOCAL_DATABASES"),
            endpoint=env.get("SCORECAST_ENDPOINT") or "http://127.0.0.1:8080/api/v2",
            token=env.get("SCORECAST_TOKEN") or None,
            scoring_parallelism=_scoring_parallelism(env),
            allow_pickle_models=_flag(env, "SCORECAST_ALLOW_PICKLE_MODELS"),
            pickle_model_roles=_pickle_model_roles(env),
            metrics_public=_flag(env, "SCORECAST_METRICS_PUBLIC"),
            log_format=_log_format(env),
            ambient_cloud_identity_orgs=tuple(
                name.strip()
                for name in env.get("SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS", "").split(",")
                if name.strip()
            ),
            ambient_cloud_endpoints=_origins(env, "SCORECAST_AMBIENT_CLOUD_ENDPOINTS"),
            debris_sweep_seconds=_seconds(env, "SCORECAST_DEBRIS_SWEEP_SECONDS", 600.0),
            job_process_max_jobs=_count(env, "SCORECAST_JOB_PROCESS_MAX_JOBS", 500),
            job_process_max_rss_mb=_amount(
                env, "SCORECAST_JOB_PROCESS_MAX_RSS_MB", 1024.0, "megabytes"
            ),
            database_pool_size=_optional_count(env, "SCORECAST_DATABASE_POOL_SIZE"),
            api_threads=_count(env, "SCORECAST_API_THREADS", 8),
            scheduler_lanes=_count(env, "SCORECAST_SCHEDULER_LANES", 1),
            storage_url=_storage_url(env),
            dask_address=_dask_address(env),
            forwarded_allow_ips=_forwarded_allow_ips(env),
            limits=Limits.from_env(env),
            smtp=Smtp.from_env(env),
            notifications=NotificationSettings.from_env(env),
            retention=RetentionSettings.from_env(env),
        )

    def for_child(self) -> Settings:
        """These settings as a child process (a job, a model inspection) gets them: without
        the credential key, the store's URL and the SMTP login, which a child never needs (a
        job reaches the store and its credentials through its worker)."""
        return replace(self, secret_key=None, database_url="", token=None, smtp=Smtp())

    def may_use_ambient_identity(self, organization: str | None) -> bool:
        """Whether jobs of ``organization`` (its name) may use the server's own cloud identity."""
        named = self.ambient_cloud_identity_orgs
        return "*" in named or (organization is not None and organization in named)

    # the storage's folders when it is the home (the default); tests look at them
    @property
    def uploads_dir(self) -> Path:
        return home_layout.local_storage_folder(self.home, home_layout.UPLOADS)

    @property
    def results_dir(self) -> Path:
        return home_layout.local_storage_folder(self.home, home_layout.RESULTS)

    @property
    def artifacts_dir(self) -> Path:
        return home_layout.local_storage_folder(self.home, home_layout.ARTIFACTS)

    @property
    def datasets_dir(self) -> Path:
        return home_layout.local_storage_folder(self.home, home_layout.DATASETS)
