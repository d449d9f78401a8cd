"""scorecast-client: the Python SDK of a scorecast server (HTTP only; no server code).

from scorecast_client import Client

with Client() as client:  # SCORECAST_ENDPOINT/SCORECAST_TOKEN or `scorecast login`
    job = client.jobs.score("DEPLOYMENT_ID", "patients.csv", "scored.csv")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from scorecast_client._backoff import RetryPolicy
from scorecast_client._client import Client
from scorecast_client._exceptions import (
    APIError,
    ConfigurationError,
    Conflict,
    EndpointError,
    Forbidden,
    Invalid,
    InvalidId,
    JobFailed,
    NotFound,
    ProfileFileError,
    ScorecastError,
    ServerError,
    TransportError,
    Unauthorized,
    WaitTimeout,
)
from scorecast_client._jobs import Job
from scorecast_client._models import (
    TERMINAL_STATUSES,
    BackfillData,
    BackfillProgressData,
    CredentialData,
    DatasetData,
    DataStoreData,
    DefinitionData,
    DeliveryData,
    DeploymentData,
    FireData,
    JobData,
    JobStatus,
    NotificationChannelData,
    NotificationPolicyData,
    PreviewFireData,
    SchedulePreviewData,
)
from scorecast_client._settings import (
    ClientSettings,
    Profile,
    normalize_endpoint,
    profile_path,
    resolve,
)

if TYPE_CHECKING:
    from scorecast_client._async import AsyncClient, AsyncJob


def __getattr__(name: str) -> Any:
    # The asyncio client is imported on first use: asyncio alone costs the CLI ~0.1 s to start.
    if name in ("AsyncClient", "AsyncJob"):
        from scorecast_client import _async

        return getattr(_async, name)
    raise AttributeError(f"module 'scorecast_client' has no attribute {name!r}")


__all__ = [
    "TERMINAL_STATUSES",
    "APIError",
    "AsyncClient",
    "AsyncJob",
    "BackfillData",
    "BackfillProgressData",
    "Client",
    "ClientSettings",
    "ConfigurationError",
    "Conflict",
    "CredentialData",
    "DataStoreData",
    "DatasetData",
    "DefinitionData",
    "DeliveryData",
    "DeploymentData",
    "EndpointError",
    "FireData",
    "Forbidden",
    "Invalid",
    "InvalidId",
    "Job",
    "JobData",
    "JobFailed",
    "JobStatus",
    "NotFound",
    "NotificationChannelData",
    "NotificationPolicyData",
    "PreviewFireData",
    "Profile",
    "ProfileFileError",
    "RetryPolicy",
    "SchedulePreviewData",
    "ScorecastError",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "WaitTimeout",
    "__version__",
    "normalize_endpoint",
    "profile_path",
    "resolve",
]
