"""The one exception hierarchy of scorecast.

::

    ScorecastError                      base; never shown to users as a traceback
    ├── InvalidInput                    the caller's mistake → HTTP 422, CLI exit 2
    │   └── UnsupportedFeature          valid DataRobot input this server does not implement → 422
    ├── NotFound                        unknown id, or another organization's id → 404
    │   └── Gone                        it existed, and retention deleted it → 410
    ├── Conflict                        unique name taken, job not abortable → 409
    ├── AuthenticationFailed            missing or unknown token → 401
    ├── PermissionDenied                token valid, action forbidden → 403
    ├── ModelLoadError                  an artifact that cannot load or contradicts its target → 422
    ├── MissingExtra                    an optional dependency is not installed → 422 / CLI message
    └── JobFailure                      a running job cannot go on → job FAILED (or ABORTED)
        └── ConnectorError              intake/output failure; names the location, never a secret
            └── OutputAlreadyCommitted  another attempt of the job committed this output first

Every error carries ``errors``: a nested mapping from field names to problems, in the wire
spelling (camelCase), e.g. ``{"schedule": {"minute": "60 is out of range 0-59"}}``.
"""

from __future__ import annotations

from typing import Any


class ScorecastError(Exception):
    """Base class; ``message`` is user-facing, ``errors`` maps fields to problems."""

    status_code = 500

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: dict[str, Any] = errors or {}

    @classmethod
    def at(cls, field_path: str, problem: str) -> ScorecastError:
        """An error for one field; ``field_path`` is dotted (``"schedule.minute"``)."""
        errors: dict[str, Any] = {}
        node = errors
        parts = field_path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = problem
        return cls(f"{field_path}: {problem}", errors)

    def __reduce__(self) -> tuple[Any, ...]:
        # whole across processes (a job's worker processes, model inspection): the default
        # would call ``cls(message)`` and lose ``errors`` and the subclasses' own fields
        return (_rebuild, (type(self), self.message, self.errors, dict(self.__dict__)))


def _rebuild(
    cls: type[ScorecastError], message: str, errors: dict[str, Any], state: dict[str, Any]
) -> ScorecastError:
    error = cls.__new__(cls)
    ScorecastError.__init__(error, message, errors)
    error.__dict__.update(state)
    return error


class InvalidInput(ScorecastError):
    status_code = 422


class UnsupportedFeature(InvalidInput):
    status_code = 422


class NotFound(ScorecastError):
    status_code = 404


class Gone(NotFound):
    """What was asked for existed and is deleted for good (a job's results, by retention)."""

    status_code = 410


class Conflict(ScorecastError):
    status_code = 409


class AuthenticationFailed(ScorecastError):
    status_code = 401


class PermissionDenied(ScorecastError):
    status_code = 403


class ModelLoadError(ScorecastError):
    status_code = 422


class MissingExtra(ScorecastError):
    """An optional dependency is missing; the message names the extra to install."""

    status_code = 422

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"this feature needs the Python package '{module}': "
            f"install it with  pip install 'scorecast[{extra}]'"
        )
        self.module = module
        self.extra = extra


class JobFailure(ScorecastError):
    """A job cannot go on. ``abort`` = the job ends ABORTED (user or abortOnError), else FAILED."""

    def __init__(
        self, message: str, errors: dict[str, Any] | None = None, *, abort: bool = False
    ) -> None:
        super().__init__(message, errors)
        self.abort = abort


class ConnectorError(JobFailure):
    """Intake or output failure. ``message`` names the location and the cause, never a secret."""


class OutputAlreadyCommitted(ConnectorError):
    """``commit()`` found that another attempt of the same job committed this output first;
    nothing was written. ``earlier`` says which attempt and when."""

    def __init__(self, message: str, earlier: str) -> None:
        super().__init__(message)
        self.earlier = earlier


def require_extra(module: str, extra: str) -> Any:
    """Import an optional module lazily, or raise MissingExtra naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(module, extra) from exc
