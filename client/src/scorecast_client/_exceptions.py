"""Every error the SDK raises, in one tree::

ScorecastError                 anything this package raises on purpose; itself for an answer
│                              that is not the API's (a redirect, HTML, keys missing)
├── ConfigurationError         no endpoint or token, a token that cannot be one, an unknown profile
│   ├── EndpointError          the endpoint is not an http(s) URL (a bad port, a stray ``[``)
│   └── ProfileFileError       the profile file cannot be read or parsed
├── TransportError             the server could not be reached (after the retries)
├── WaitTimeout                ``Job.wait`` ran out of time; the job goes on
├── JobFailed                  the job ended ABORTED or FAILED (``status_details`` says why)
└── APIError                   the API answered 4xx/5xx (``status_code``, ``errors``)
    ├── Invalid                400/422: ``errors`` maps each bad field to its problem
    ├── Unauthorized           401: no token, or a wrong one
    ├── Forbidden              403
    ├── NotFound               404: no such object in the caller's organization
    ├── Conflict               409: e.g. aborting a job that already ended
    └── ServerError            5xx (with or without the API's JSON): ``request_id``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scorecast_client._models import JobData

__all__ = [
    "APIError",
    "ConfigurationError",
    "Conflict",
    "EndpointError",
    "Forbidden",
    "Invalid",
    "JobFailed",
    "NotFound",
    "ProfileFileError",
    "ScorecastError",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "WaitTimeout",
]


class ScorecastError(Exception):
    """The root of the tree; ``message`` is one line fit for a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(ScorecastError):
    """The client cannot be set up (missing token, unreadable profile file)."""


class EndpointError(ConfigurationError):
    """The endpoint is not a usable http(s) URL; the message names the setting it came from."""


class ProfileFileError(ConfigurationError):
    """The profile file cannot be read, or is not JSON of profiles; it is never quoted."""


class InvalidId(ScorecastError, ValueError):
    """A value given as an id that cannot be one (empty, or holding a ``/``): nothing is sent."""


class TransportError(ScorecastError):
    """No answer from the server: refused connection, DNS failure, timeout."""


class WaitTimeout(ScorecastError):
    """``wait`` gave up before the job ended; the job itself keeps running."""


class JobFailed(ScorecastError):
    """The job ended without completing; ``job`` is its last state."""

    def __init__(self, job: JobData) -> None:
        details = job.get("statusDetails") or "no details"
        super().__init__(f"job {job['id']} {job['status']}: {details}")
        self.job = job
        self.status = job["status"]
        self.status_details = details


class APIError(ScorecastError):
    """The server refused the request; ``errors`` names the offending fields when it did."""

    def __init__(
        self,
        status_code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.errors: dict[str, Any] = errors or {}
        self.request_id = request_id


class Invalid(APIError):
    """400/422: the request named a bad field (see ``errors``)."""


class Unauthorized(APIError):
    """401: the token is missing or not accepted."""


class Forbidden(APIError):
    """403: the token may not do this."""


class NotFound(APIError):
    """404: no such object (in the caller's organization)."""


class Conflict(APIError):
    """409: the object is not in a state that allows this (e.g. the job already ended)."""


class ServerError(APIError):
    """5xx: the server failed; ``request_id`` finds the traceback in its log."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Invalid,
}


def is_api_error(body: Any) -> bool:
    """Whether a parsed error answer has the API's shape: ``{"message": ..., "errors": ...}``.
    Any other error answer (HTML, another JSON) comes from something that is not the API."""
    return isinstance(body, dict) and isinstance(body.get("message"), str)


def error_for_status(status_code: int, body: Any, request_id: str | None = None) -> APIError:
    """The exception for an error answer of the API; ``body`` is the parsed JSON (see
    ``is_api_error``: the transport never passes another answer here)."""
    message = ""
    errors: dict[str, Any] = {}
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        raw_errors = body.get("errors")
        if isinstance(raw_errors, dict):
            errors = raw_errors
    message = message or f"HTTP {status_code}"
    if status_code >= 500:
        kind: type[APIError] = ServerError
        if request_id:
            message = f"{message} (request id {request_id})"
    else:
        kind = _BY_STATUS.get(status_code, APIError)
    return kind(status_code, message, errors, request_id)
