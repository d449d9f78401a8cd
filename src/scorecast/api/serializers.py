"""Jobs and job definitions as DataRobot's JSON (reference §5.2 and §12.1).

What the official client insists on (gotchas 4, 5, 7, 19): ``percentageCompleted`` a float,
``elapsedTimeSec`` an integer, ``statusDetails`` non-empty, ``links.self`` ending ``/{id}/``,
``jobSpec.numConcurrent`` present, ``links.download`` absent until the result can be streamed,
``createdBy``/``updatedBy`` with ``username`` and ``userId``. URLs are absolute. Datetimes are
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.

Fields beyond DataRobot's: ``rowsPerSecond`` and ``etaSeconds`` (progress of a running job),
``started``, ``finished``, ``scheduledTime`` and ``endReason`` on jobs.

Secrets (``domain/spec_secrets.py``): ``predictionInstance.apiKey`` and ``datarobotKey`` are
never in ``jobSpec``/``batchPredictionJob`` (dropped at the spec gate, and again here for specs
stored before that).

Statuses (``domain/job_statuses.py``): a job stored ``FAILED`` is shown ``ABORTED``, so that the
official client's ``wait_for_completion()`` raises at its next poll instead of polling until its
``max_wait``; ``endReason`` (``completed``/``aborted``/``failed``, null until the end) tells a
failure from an abort. A definition's ``lastStartedJobStatus`` is shown the same way.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from scorecast.api.wire import format_datetime
from scorecast.domain.definition_policies import policies_to_wire
from scorecast.domain.job_statuses import end_reason, wire_status
from scorecast.domain.spec_secrets import without_secrets
from scorecast.service.definitions import DefinitionView, definition_policies
from scorecast.service.job_views import JobFields, JobView, UserRef
from scorecast.store.types import utcnow

#: Statuses in which the result of a ``localFile`` output can be streamed.
DOWNLOADABLE_STATUSES = frozenset({"RUNNING", "COMPLETED"})


def user_to_wire(user: UserRef) -> dict[str, Any]:
    """The client rejects blank strings here: a blank full name is sent as null."""
    full_name = user.full_name if user.full_name and user.full_name.strip() else None
    username = user.username if user.username.strip() else user.user_id
    return {"userId": user.user_id, "username": username, "fullName": full_name}


def job_url(api_root: str, job_id: str) -> str:
    """The absolute URL of a job; ``api_root`` is the absolute API root ending in ``/``."""
    return f"{api_root}batchPredictions/{job_id}/"


def job_links(job: JobFields, api_root: str) -> dict[str, str]:
    """``self`` always; ``csvUpload`` for a localFile intake; ``download`` once streamable."""
    url = job_url(api_root, job.id)
    links = {"self": url}
    if job.spec.get("intakeSettings", {}).get("type") == "localFile":
        links["csvUpload"] = f"{url}csvUpload/"
    output_local = job.spec.get("outputSettings", {}).get("type") == "localFile"
    if output_local and job.status in DOWNLOADABLE_STATUSES and not job.results_deleted:
        links["download"] = f"{url}download/"
    return links


def elapsed_seconds(job: JobFields, now: datetime) -> int:
    """Whole seconds the job has been running (to its end once finished); 0 before it starts."""
    if job.started is None:
        return 0
    end = job.finished or now
    return max(0, int((end - job.started).total_seconds()))


def job_to_wire(view: JobView, api_root: str, now: datetime | None = None) -> dict[str, Any]:
    """The job object of ``GET batchPredictions/{id}/`` (and of POST, list, abort responses)."""
    job = view.job
    now = now or utcnow()
    spec = without_secrets(job.spec)  # also for jobs stored before secrets were dropped
    spec.setdefault("numConcurrent", 1)
    # on the execution queue (``store.models.JOB_WAITING``): not while a localFile job waits
    # for its upload, nor once its abort was asked
    waiting = (
        job.status == "INITIALIZING" and job.queued and job.intake_ready and not job.abort_requested
    )
    definition = None
    if view.definition is not None:
        definition = {
            "id": view.definition.id,
            "name": view.definition.name,
        }
    return {
        "id": job.id,
        "status": wire_status(job.status),
        "endReason": end_reason(job.status),
        "statusDetails": job.status_details or _default_details(job),
        "percentageCompleted": float(job.percentage_completed or 0.0),
        "elapsedTimeSec": elapsed_seconds(job, now),
        "links": job_links(job, api_root),
        "jobSpec": spec,
        "created": format_datetime(job.created),
        "createdBy": user_to_wire(view.created_by),
        "logs": list(view.logs),
        "scoredRows": job.scored_rows,
        "failedRows": job.failed_rows,
        "skippedRows": job.skipped_rows,
        "queued": waiting,
        "queuePosition": view.queue_position,
        "source": job.source,
        "hidden": None,
        "intakeDatasetDisplayName": view.intake_dataset_name,
        "jobIntakeSize": job.intake_size,
        "jobOutputSize": job.output_size,
        "resultsDeleted": job.results_deleted,
        "monitoringBatchId": None,
        "batchPredictionJobDefinition": definition,
        "started": format_datetime(job.started),
        "finished": format_datetime(job.finished),
        "scheduledTime": format_datetime(job.scheduled_time),
        "rowsPerSecond": job.rows_per_second,
        "etaSeconds": job.eta_seconds,
    }


def definition_to_wire(view: DefinitionView) -> dict[str, Any]:
    """The definition object of ``batchPredictionJobDefinitions/`` (reference §12.1)."""
    definition = view.definition
    spec = without_secrets(definition.job_spec)
    spec.setdefault("numConcurrent", 1)
    return {
        "id": definition.id,
        "name": definition.name,
        "enabled": bool(definition.enabled),
        "schedule": copy.deepcopy(definition.schedule),
        "batchPredictionJob": spec,
        "created": format_datetime(definition.created),
        "updated": format_datetime(definition.updated),
        "createdBy": user_to_wire(view.created_by),
        "updatedBy": user_to_wire(view.updated_by),
        "lastFailedRunTime": format_datetime(definition.last_failed_run_time),
        "lastSuccessfulRunTime": format_datetime(definition.last_successful_run_time),
        "lastStartedJobStatus": (
            wire_status(definition.last_started_job_status)
            if definition.last_started_job_status
            else None
        ),
        "lastStartedJobTime": format_datetime(definition.last_started_job_time),
        "lastScheduledRunTime": format_datetime(definition.last_scheduled_run_time),
        "nextScheduledRunTime": format_datetime(definition.next_scheduled_run_time),
        "disabledReason": definition.disabled_reason,
        **policies_to_wire(definition_policies(definition)),
    }


def _default_details(job: JobFields) -> str:
    return f"Job {job.status.lower()}"  # the stored status: "Job failed" tells more than "aborted"
