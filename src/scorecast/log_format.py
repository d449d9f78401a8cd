"""How scorecast's log lines look: text (the default) or one JSON object per line.

``SCORECAST_LOG_FORMAT=json`` (``Settings.log_format``) gives each record as
``{"time", "level", "logger", "message", "request_id"?, "job_id"?, "exception"?}``, for log
collectors. ``request_id`` is the id the API sends back in ``x-request-id`` (set by
``RequestIdMiddleware``); ``job_id`` is set while a worker thread or a job process runs a job.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

from scorecast.config import LogFormat

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: the API request being answered, in the task or thread answering it
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "scorecast_request_id", default=None
)
#: the job being run, in the worker thread or the job process running it
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "scorecast_job_id", default=None
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("request_id", request_id), ("job_id", job_id)):
            value = getattr(record, key, None) or var.get()
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure(log_format: LogFormat, level: int | str) -> None:
    """Send the ``scorecast`` loggers (and uvicorn's) to stderr in ``log_format``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger("scorecast")
    root.handlers = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
    root.propagate = False
    if log_format == "json":
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers = [handler]
            logger.propagate = False
