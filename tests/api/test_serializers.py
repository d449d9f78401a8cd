"""Job and definition JSON in every state, validated by the official client's own converters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.api.serializers import definition_to_wire, format_datetime, job_to_wire
from scorecast.domain.job_spec import DEFAULT_NUM_CONCURRENT, JobSpec
from scorecast.domain.job_statuses import STATUSES
from scorecast.service.definitions import DefinitionView
from scorecast.service.job_views import DefinitionRef, JobView, UserRef
from scorecast.store.models import Job, JobDefinition

ROOT = "https://scorecast.example.com/api/v2/"
JOB_ID = "65f0c0ffee0000000000abcd"
ALICE = UserRef("6065cbcaaf795f38b8cfb4ee", "alice", None)
WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

_moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
_adapters = st.sampled_from(
    [
        {"type": "localFile"},
        {"type": "s3", "url": "s3://bucket/key.csv"},
        {"type": "azure", "url": "https://account.blob.core.windows.net/c/key.csv"},
    ]
)


def normalized(raw: Any) -> dict[str, Any]:
    """A spec's stored form: parsed, then written back."""
    return JobSpec.from_wire(raw).to_wire()


@st.composite
def jobs(draw: st.DrawFn) -> Job:
    status = draw(st.sampled_from(STATUSES))
    created = draw(_moments)
    started = None
    finished = None
    if status != "INITIALIZING":
        started = created + timedelta(seconds=draw(st.floats(0, 10_000)))
    if status in {"COMPLETED", "ABORTED", "FAILED"} and started is not None:
        finished = started + timedelta(seconds=draw(st.floats(0, 10_000)))
    spec = normalized(
        {
            "deploymentId": "5ce1138c962d7415e076d8c6",
            "intakeSettings": draw(_adapters),
            "outputSettings": draw(_adapters),
            "numConcurrent": draw(st.integers(1, 16)),
        }
    )
    return Job(
        id=JOB_ID,
        org_id="o" * 24,
        deployment_id=spec["deploymentId"],
        spec=spec,
        source=draw(st.sampled_from(["api", "manual", "scheduled"])),
        status=status,
        status_details=draw(st.sampled_from(["", "Job submitted at 2024-05-19 09:22:19"])),
        queued=draw(st.booleans()),
        abort_requested=False,
        intake_ready=True,
        created_by=ALICE.user_id,
        created=created,
        started=started,
        finished=finished,
        percentage_completed=draw(st.floats(0, 100)),
        scored_rows=draw(st.integers(0, 10**9)),
        failed_rows=0,
        skipped_rows=0,
        intake_size=draw(st.none() | st.integers(0, 10**12)),
        output_size=None,
        rows_per_second=draw(st.none() | st.floats(0, 10**7)),
        eta_seconds=None,
        results_deleted=draw(st.booleans()),
    )


def client_job(wire: dict[str, Any]) -> Any:
    import datarobot as dr

    return dr.BatchPredictionJob(wire)


@settings(deadline=None)
@given(jobs(), st.booleans())
def test_every_job_state_passes_the_clients_converter(job: Job, from_definition: bool) -> None:
    definition = DefinitionRef("d" * 24, "nightly") if from_definition else None
    now = (job.finished or job.started or job.created) + timedelta(seconds=5)
    view = JobView(job, ALICE, ["Job created by alice"], None, definition)
    wire = job_to_wire(view, ROOT, now=now)
    parsed = client_job(wire)
    assert parsed.id == JOB_ID
    assert wire["links"]["self"].split("/")[-2] == JOB_ID
    assert isinstance(wire["elapsedTimeSec"], int) and wire["elapsedTimeSec"] >= 0
    assert isinstance(wire["percentageCompleted"], float)
    assert wire["statusDetails"].strip()
    assert WIRE_TIME.match(wire["created"])
    local_out = job.spec["outputSettings"]["type"] == "localFile"
    downloadable = local_out and job.status in {"RUNNING", "COMPLETED"} and not job.results_deleted
    assert ("download" in wire["links"]) == downloadable
    local_in = job.spec["intakeSettings"]["type"] == "localFile"
    assert ("csvUpload" in wire["links"]) == local_in
    on_the_queue = job.queued and job.intake_ready and not job.abort_requested
    assert wire["queued"] == (job.status == "INITIALIZING" and on_the_queue)
    # every unsuccessful end is ABORTED on the wire (the client stops waiting on it) ...
    assert wire["status"] == ("ABORTED" if job.status == "FAILED" else job.status)
    # ... and endReason tells a failure from an abort
    ended = job.status in {"COMPLETED", "ABORTED", "FAILED"}
    assert wire["endReason"] == (job.status.lower() if ended else None)


def test_elapsed_time_counts_whole_seconds_of_running() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    job = Job(
        id=JOB_ID,
        spec=normalized({"deploymentId": "d", "intakeSettings": {"type": "s3", "url": "s3://b/k"}}),
        status="RUNNING",
        status_details="running",
        created=start - timedelta(minutes=5),
        started=start,
        percentage_completed=0,
        scored_rows=0,
        failed_rows=0,
        skipped_rows=0,
        results_deleted=False,
        queued=False,
        source="api",
    )
    wire = job_to_wire(
        JobView(job, ALICE, [], None, None), ROOT, now=start + timedelta(seconds=12.9)
    )
    assert wire["elapsedTimeSec"] == 12


@given(_moments)
def test_datetimes_are_utc_with_microseconds(moment: datetime) -> None:
    text = format_datetime(moment)
    assert text is not None and WIRE_TIME.match(text)
    assert datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) == moment
    naive = format_datetime(moment.replace(tzinfo=None))
    assert naive == text
    assert format_datetime(None) is None


_schedules = st.none() | st.fixed_dictionaries(
    {
        "minute": st.just(["*"]) | st.lists(st.integers(0, 59), min_size=1, max_size=3),
        "hour": st.just(["*"]) | st.lists(st.integers(0, 23), min_size=1, max_size=3),
        "dayOfMonth": st.just(["*"]) | st.lists(st.integers(1, 31), min_size=1, max_size=3),
        "month": st.just(["*"]) | st.lists(st.sampled_from(["jan", "oct", 3]), min_size=1),
        "dayOfWeek": st.just(["*"]) | st.lists(st.sampled_from(["sun", 1, "Friday"]), min_size=1),
    }
)


@settings(deadline=None)
@given(_schedules, st.booleans(), st.none() | _moments, st.none() | st.text(max_size=20))
def test_every_definition_passes_the_clients_converter(
    schedule: dict[str, Any] | None, enabled: bool, last_run: datetime | None, full_name: str | None
) -> None:
    import datarobot as dr

    from scorecast.domain.schedule import parse_schedule

    wire_schedule = parse_schedule(schedule).to_wire() if schedule else None
    created = datetime(2024, 5, 4, 11, 20, 41, 691000, tzinfo=UTC)
    definition = JobDefinition(
        id="6" * 24,
        name="supportive_frogmouth",
        enabled=enabled and schedule is not None,
        schedule=wire_schedule,
        job_spec=normalized({"deploymentId": "d" * 24, "intakeSettings": {"type": "localFile"}}),
        created=created,
        updated=created,
        last_successful_run_time=last_run,
        last_scheduled_run_time=last_run,
        next_scheduled_run_time=last_run,
    )
    user = UserRef(ALICE.user_id, "alice", full_name)
    wire = definition_to_wire(DefinitionView(definition, user, user))
    parsed = dr.BatchPredictionJobDefinition.from_server_data(wire)
    assert parsed.id == definition.id
    assert parsed.name == "supportive_frogmouth"
    assert parsed.batch_prediction_job["num_concurrent"] == DEFAULT_NUM_CONCURRENT
    if wire_schedule is not None:
        assert set(wire["schedule"]) >= {"minute", "hour", "dayOfMonth", "month", "dayOfWeek"}
