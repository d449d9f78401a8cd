"""``batchPredictions/``: submit, list, read and abort jobs; run a definition; copy a job.

Status codes: POST routes answer 202 with the job and a ``Location`` header ending ``/{id}/``;
GET answers 200 (never a redirect, which the client would take as a failure); DELETE aborts
and answers 202 with the job, or 409 when the job already ended.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import URLPath

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep, SettingsDep
from scorecast.api.documented import PAGE_RESPONSE
from scorecast.api.pagination import DEFAULT_LIMIT, page_response
from scorecast.api.serializers import job_to_wire, job_url
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import IsoDateTime, JsonObject, Limit, Offset
from scorecast.errors import InvalidInput, UnsupportedFeature
from scorecast.service import jobs
from scorecast.service.caller import Caller
from scorecast.service.job_views import job_views
from scorecast.store.models import Job

#: The largest ``cutoffHours`` (about 114 years; a larger one would reach before year 1).
MAX_CUTOFF_HOURS = 1_000_000

router = APIRouter(tags=["Batch predictions"], route_class=TransactionRoute)


def api_root(request: Request) -> str:
    """The absolute API root (``https://host/api/v2/``) as the client reached it.

    ``request.url_for`` would search the app's routes for the jobs list on every request; its
    path is the same for the app's life, so it is found once."""
    state = request.app.state
    path: URLPath | None = getattr(state, "jobs_list_path", None)
    if path is None:
        path = state.jobs_list_path = request.app.url_path_for("list_batch_predictions")
    url = path.make_absolute_url(base_url=request.base_url)
    return str(url).removesuffix("batchPredictions/")


def _answer(
    session: Session,
    job: Job,
    request: Request,
    caller: Caller,
    response: Response | None = None,
) -> dict[str, Any]:
    root = api_root(request)
    if response is not None:
        response.headers["Location"] = job_url(root, job.id)
    return job_to_wire(job_views(session, [job], caller=caller)[0], root)


@router.post("/batchPredictions/", status_code=202, name="create_batch_prediction")
def create_batch_prediction(
    *,
    body: JsonObject,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    app_settings: SettingsDep,
) -> dict[str, Any]:
    """Submit a job (the body is a job spec). A ``localFile`` intake then waits for its upload."""
    job = jobs.create_job(session, caller, body, "api", app_settings=app_settings)
    return _answer(session, job, request, caller, response)


@router.get("/batchPredictions/", name="list_batch_predictions", responses=PAGE_RESPONSE)
def list_batch_predictions(
    *,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    status: Annotated[list[str] | None, Query()] = None,
    deployment_id: Annotated[str | None, Query(alias="deploymentId")] = None,
    job_id: Annotated[str | None, Query(alias="jobId")] = None,
    definition_id: Annotated[str | None, Query(alias="batchPredictionJobDefinitionId")] = None,
    source: Annotated[list[str] | None, Query()] = None,
    intake_type: Annotated[list[str] | None, Query(alias="intakeType")] = None,
    output_type: Annotated[list[str] | None, Query(alias="outputType")] = None,
    order_by: Annotated[str, Query(alias="orderBy")] = "-created",
    cutoff_hours: Annotated[
        int | None, Query(alias="cutoffHours", ge=0, le=MAX_CUTOFF_HOURS)
    ] = None,
    start: Annotated[IsoDateTime | None, Query(alias="startDateTime")] = None,
    end: Annotated[IsoDateTime | None, Query(alias="endDateTime")] = None,
    all_jobs: Annotated[bool, Query(alias="allJobs")] = False,
    # DataRobot's, refused here (see below), so left out of the OpenAPI document
    model_id: Annotated[str | None, Query(alias="modelId", include_in_schema=False)] = None,
    hostname: Annotated[list[str] | None, Query(include_in_schema=False)] = None,
) -> Response:
    """The organization's jobs, newest first; filters combine (``status`` may repeat).

    ``status=ABORTED`` also finds failed jobs (shown ABORTED); ``status=FAILED`` only those.
    ``source`` may repeat; ``source=-api`` excludes the jobs submitted through the API.
    ``startDateTime`` and ``endDateTime`` both include their moment; ``cutoffHours`` (jobs of
    the last hours) applies only without ``startDateTime``, as DataRobot documents.

    ``limit=0`` means the default page size. ``allJobs`` is accepted for compatibility: every
    member of an organization sees all of its jobs. ``modelId`` and ``hostname`` (leaderboard
    models, prediction servers) do not apply here and are refused rather than ignored.
    """
    del all_jobs
    if model_id is not None:
        raise UnsupportedFeature.at(
            "modelId", "jobs here score deployments, not leaderboard models; use deploymentId"
        )
    if hostname:
        raise UnsupportedFeature.at(
            "hostname", "jobs here do not use prediction servers; filter with deploymentId"
        )
    limit = limit or DEFAULT_LIMIT
    # DataRobot: startDateTime "will ignore cutoffHours if set"; endDateTime is inclusive
    created_after = _utc(start, "startDateTime")
    if created_after is None and cutoff_hours is not None:
        created_after = datetime.now(UTC) - timedelta(hours=cutoff_hours)
    created_until = _utc(end, "endDateTime")
    if created_after and created_until and created_after > created_until:
        raise InvalidInput.at("endDateTime", "must not be before startDateTime")
    filters = jobs.JobFilters(
        statuses=status or (),
        deployment_id=deployment_id,
        job_id=job_id,
        definition_id=definition_id,
        sources=source or (),
        intake_types=intake_type or (),
        output_types=output_type or (),
        created_after=created_after,
        created_until=created_until,
        order_by=order_by,
    )
    page, total = jobs.list_jobs(session, caller, filters, offset=offset, limit=limit)
    root = api_root(request)
    data = [job_to_wire(view, root) for view in job_views(session, page, caller=caller)]
    return page_response(request, data, total=total, offset=offset, limit=limit)


@router.post(
    "/batchPredictions/fromJobDefinition/", status_code=202, name="run_batch_prediction_definition"
)
def run_definition(
    *,
    body: JsonObject,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    app_settings: SettingsDep,
) -> dict[str, Any]:
    """Run a job definition once: ``{"jobDefinitionId": "..."}``; the client reads ``id``."""
    definition_id = _required_id(body, "jobDefinitionId")
    job = jobs.job_from_definition(
        session, caller, definition_id, source="manual", app_settings=app_settings
    )
    return _answer(session, job, request, caller, response)


@router.post("/batchPredictions/fromExisting/", status_code=202, name="copy_batch_prediction")
def copy_job(
    *,
    body: JsonObject,
    request: Request,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    app_settings: SettingsDep,
) -> dict[str, Any]:
    """Submit a new job with an existing job's spec: ``{"predictionJobId": "..."}``."""
    job_id = _required_id(body, "predictionJobId")
    job = jobs.job_from_existing(session, caller, job_id, app_settings=app_settings)
    return _answer(session, job, request, caller, response)


@router.get("/batchPredictions/{job_id}/", name="get_batch_prediction")
def get_batch_prediction(
    job_id: str, request: Request, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """One job, with live progress."""
    return _answer(session, jobs.get_job(session, caller, job_id), request, caller)


@router.delete("/batchPredictions/{job_id}/", status_code=202, name="abort_batch_prediction")
def abort_batch_prediction(
    job_id: str, request: Request, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """Abort a job: a waiting one at once, a running one within seconds; 409 once ended."""
    return _answer(session, jobs.abort_job(session, caller, job_id), request, caller)


def _required_id(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput.at(key, "is required (a job id string)")
    return value


def _utc(moment: datetime | None, field: str) -> datetime | None:
    if moment is None:
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise InvalidInput.at(field, "is out of the range of dates") from exc
