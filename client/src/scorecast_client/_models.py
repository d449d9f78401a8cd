"""The server's wire objects as typed dictionaries (camelCase keys, as sent).

Fields the server always sends are required keys; the rest are ``NotRequired``. A job's
``jobSpec`` and a definition's ``batchPredictionJob`` stay plain JSON objects: they are the
DataRobot job spec, whose settings depend on the intake and output types.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast

JobStatus = Literal["INITIALIZING", "RUNNING", "COMPLETED", "ABORTED", "FAILED"]

#: Statuses after which a job never changes again.
TERMINAL_STATUSES: frozenset[str] = frozenset({"COMPLETED", "ABORTED", "FAILED"})

JsonObject = dict[str, Any]


class UserRef(TypedDict):
    userId: str
    username: str
    fullName: str | None


class JobLinks(TypedDict):
    self: str
    csvUpload: NotRequired[str]
    download: NotRequired[str]


class DefinitionRef(TypedDict):
    id: str
    name: str


class JobData(TypedDict):
    """``GET batchPredictions/{id}/``; ``rowsPerSecond`` and ``etaSeconds`` are scorecast's."""

    id: str
    status: JobStatus
    #: ``completed``, ``aborted`` (a user or abortOnError) or ``failed``; null while running
    endReason: str | None
    statusDetails: str
    percentageCompleted: float
    elapsedTimeSec: int
    links: JobLinks
    jobSpec: JsonObject
    created: str
    createdBy: UserRef
    logs: list[str]
    scoredRows: int
    failedRows: int
    skippedRows: int
    queued: bool
    queuePosition: int | None
    source: str
    jobIntakeSize: int | None
    jobOutputSize: int | None
    resultsDeleted: bool
    batchPredictionJobDefinition: DefinitionRef | None
    started: str | None
    finished: str | None
    scheduledTime: str | None
    rowsPerSecond: float | None
    etaSeconds: float | None


class DefinitionData(TypedDict):
    """``GET batchPredictionJobDefinitions/{id}/``."""

    id: str
    name: str
    enabled: bool
    schedule: JsonObject | None
    batchPredictionJob: JsonObject
    created: str
    updated: str
    createdBy: UserRef
    updatedBy: UserRef
    lastFailedRunTime: str | None
    lastSuccessfulRunTime: str | None
    lastStartedJobStatus: str | None
    lastStartedJobTime: str | None
    lastScheduledRunTime: str | None
    nextScheduledRunTime: str | None
    overlapPolicy: NotRequired[Literal["skip", "queue", "cancelRunning", "allow"]]
    catchUp: NotRequired[JsonObject]
    retry: NotRequired[JsonObject]
    timeoutSeconds: NotRequired[int | None]
    expectedDurationSeconds: NotRequired[int | None]
    autoDisableAfterFailures: NotRequired[int | None]
    jitterSeconds: NotRequired[int]
    retention: NotRequired[JsonObject | None]


class DeploymentModel(TypedDict):
    id: str
    type: str
    targetName: str | None
    targetType: str


class DeploymentData(TypedDict):
    """``GET deployments/{id}/``; ``scorecastModel`` describes the model's inputs and classes."""

    id: str
    label: str
    description: str
    status: str
    createdAt: str
    model: DeploymentModel
    scorecastModel: NotRequired[JsonObject]


class CredentialData(TypedDict):
    """``GET credentials/{id}/``: never the secret itself."""

    credentialId: str
    name: str
    credentialType: str
    description: str
    creationDate: str
    updateDate: str


class DataStoreData(TypedDict):
    """``GET externalDataStores/{id}/``: a database address for the jdbc connector."""

    id: str
    type: str
    canonicalName: str
    creator: str
    role: str
    params: JsonObject
    created: str
    updated: str


class DatasetData(TypedDict):
    """``GET datasets/{id}/``: the latest version of an uploaded CSV or Parquet file."""

    datasetId: str
    versionId: str
    name: str
    creationDate: str
    datasetSize: int | None
    rowCount: int | None
    columnCount: int
    columns: list[str]
    format: str
    isLatestVersion: bool


class FireData(TypedDict):
    """One scheduled time of a definition (``…/fires/``): what the scheduler decided."""

    scheduledTime: str
    firedAt: str | None
    #: started, queued, skipped, missed, failed, retried or backfill
    outcome: str
    reason: str | None
    jobId: str | None
    jobIds: list[str]


class PreviewFireData(TypedDict):
    utc: str
    local: str
    #: "gap" (moved to the moment the clocks jumped), "overlap" (the time occurs twice) or null
    dst: str | None


class SchedulePreviewData(TypedDict):
    """``schedules/preview/`` and ``…/schedulePreview/``: the next fires, in words too."""

    description: str
    warnings: list[str]
    timezone: str | None
    fires: list[PreviewFireData]


def job_data(data: Any) -> JobData:
    """The server's job JSON as the SDK shows it. The wire shows every unsuccessful end as
    ``ABORTED`` (what DataRobot's client understands) with ``endReason`` telling a failure from
    an abort; the SDK gives a failed job the status ``FAILED``, so both are told apart."""
    job = cast(JobData, data)
    if job.get("status") == "ABORTED" and job.get("endReason") == "failed":
        job["status"] = "FAILED"
    return job
