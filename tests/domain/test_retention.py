"""Retention selection (pure): what loses its results, and what never does."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.retention import (
    FINISHED,
    RetainedJob,
    Retention,
    prunable,
    results_to_delete,
)

NOW = datetime(2026, 3, 1, 12, 0)
STATUSES = ["COMPLETED", "FAILED", "ABORTED", "RUNNING", "INITIALIZING"]


@st.composite
def job_groups(draw: st.DrawFn) -> list[RetainedJob]:
    count = draw(st.integers(0, 25))
    jobs = []
    for index in range(count):
        age = timedelta(hours=draw(st.integers(0, 24 * 30)))
        status = draw(st.sampled_from(STATUSES))
        jobs.append(
            RetainedJob(
                id=f"{index:024x}",
                created=NOW - age,
                finished=NOW - age + timedelta(minutes=5) if status in FINISHED else None,
                status=status,
                results_deleted=draw(st.booleans()) if status in FINISHED else False,
            )
        )
    return jobs


retentions = st.builds(
    Retention,
    max_jobs=st.none() | st.integers(0, 20),
    max_age_days=st.none() | st.integers(0, 40),
    keep_last_successful=st.booleans(),
)


@given(job_groups(), retentions)
def test_what_is_chosen_is_exactly_what_the_policy_says(
    jobs: list[RetainedJob], retention: Retention
) -> None:
    chosen = results_to_delete(jobs, retention, NOW)
    assert len(chosen) == len(set(chosen))
    newest_first = sorted(jobs, key=lambda j: (j.created, j.id), reverse=True)
    completed = [j for j in newest_first if j.status == "COMPLETED"]
    for rank, job in enumerate(newest_first):
        protected = (
            job.status not in FINISHED
            or job.results_deleted
            or (retention.keep_last_successful and completed and job is completed[0])
        )
        over_count = retention.max_jobs is not None and rank >= retention.max_jobs
        too_old = retention.max_age_days is not None and (
            job.finished or job.created
        ) < NOW - timedelta(days=retention.max_age_days)
        assert (job.id in chosen) == (not protected and (over_count or too_old))


@given(job_groups(), retentions)
def test_the_newest_jobs_within_the_limits_keep_their_results(
    jobs: list[RetainedJob], retention: Retention
) -> None:
    chosen = set(results_to_delete(jobs, retention, NOW))
    if retention.max_jobs is not None and retention.max_age_days is None:
        newest = sorted(jobs, key=lambda j: (j.created, j.id), reverse=True)[: retention.max_jobs]
        assert not chosen & {j.id for j in newest}


@given(job_groups())
def test_the_default_keeps_everything(jobs: list[RetainedJob]) -> None:
    assert results_to_delete(jobs, Retention(), NOW) == []


def test_chosen_oldest_first() -> None:
    jobs = [
        RetainedJob(f"{i:024x}", NOW - timedelta(days=i), NOW - timedelta(days=i), "FAILED")
        for i in range(5)
    ]
    assert results_to_delete(jobs, Retention(max_jobs=2), NOW) == [f"{i:024x}" for i in (4, 3, 2)]


def test_rows_are_prunable_after_the_grace_period() -> None:
    grace = timedelta(days=7)
    assert not prunable(None, NOW, grace)
    assert not prunable(NOW - timedelta(days=6), NOW, grace)
    assert prunable(NOW - timedelta(days=7), NOW, grace)
