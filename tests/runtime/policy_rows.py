"""Rows for run policy tests: a scheduled definition with policies, its fires and their jobs.

The fixture ``root`` (a file root the definitions read and write) is defined as
``root_fixture``: the test modules that use it import it (``# noqa: F401``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rows import EVERY_MINUTE, add_definition, add_deployment, org_and_user
from sqlalchemy import Engine, select

from scorecast.config import Settings
from scorecast.domain.definition_policies import parse_policies, policies_to_wire
from scorecast.domain.job_claim import Claim
from scorecast.service.claims import claim_next_job, end_with_failure, finish_job
from scorecast.service.jobs import caller_for_definition, job_from_definition
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition, ScheduleFire

LEASE = 30.0


@pytest.fixture(name="root")
def root_fixture(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file root the definitions read and write (validation reads it from the environment)."""
    folder = tmp_path / "files"
    folder.mkdir()
    monkeypatch.setenv("SCORECAST_FILE_ROOTS", str(folder))
    return folder


def policy_definition(engine: Engine, root: Path, **policies: Any) -> str:
    """An enabled every-minute definition reading and writing files under ``root``."""
    org, user = org_and_user(engine)
    deployment = add_deployment(engine, org, user)
    spec = {
        "deploymentId": deployment,
        "intakeSettings": {"type": "filesystem", "url": (root / "in.csv").as_uri()},
        "outputSettings": {"type": "filesystem", "url": (root / "out.csv").as_uri()},
    }
    return add_definition(
        engine,
        org,
        user,
        enabled=True,
        schedule=EVERY_MINUTE,
        job_spec=spec,
        policies=policies_to_wire(parse_policies(policies)),
    )


def fire(engine: Engine, definition_id: str, moment: datetime, outcome: str = "started") -> str:
    """Record a fire at ``moment`` (``started``, or ``queued`` behind an earlier run) with its
    job, as the scheduler does; the job id."""
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        caller = caller_for_definition(session, definition)
        job = job_from_definition(
            session, caller, definition_id, source="scheduled", scheduled_time=moment
        )
        session.add(
            ScheduleFire(
                definition_id=definition_id,
                scheduled_time=moment,
                fired_at=moment,
                outcome=outcome,
                job_id=job.id,
            )
        )
        return job.id


def claim(engine: Engine, now: datetime, worker: str = "w1") -> Claim | None:
    with session_scope(engine, immediate=True) as session:
        return claim_next_job(session, worker, now, LEASE)


def fail(engine: Engine, got: Claim, now: datetime, status: str = "FAILED") -> None:
    with session_scope(engine) as session:
        assert end_with_failure(session, got, status, "the input is missing", now)


def complete(engine: Engine, got: Claim, now: datetime) -> None:
    with session_scope(engine) as session:
        assert finish_job(session, got, "COMPLETED", "done", now)


def jobs_of(engine: Engine, definition_id: str) -> list[Job]:
    with session_scope(engine) as session:
        return list(
            session.scalars(
                select(Job)
                .where(Job.definition_id == definition_id)
                .order_by(Job.created, Job.fire_attempt)
            )
        )


def fire_row(engine: Engine, definition_id: str, moment: datetime) -> ScheduleFire:
    with session_scope(engine) as session:
        row = session.scalars(
            select(ScheduleFire).where(
                ScheduleFire.definition_id == definition_id, ScheduleFire.scheduled_time == moment
            )
        ).one()
        return row


def definition_row(engine: Engine, definition_id: str) -> JobDefinition:
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        return definition


def job_row(engine: Engine, job_id: str) -> Job:
    with session_scope(engine) as session:
        row = session.get(Job, job_id)
        assert row is not None
        return row
