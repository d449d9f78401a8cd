"""A worker removes what a job process that died left staged at its output, at the location the
attempt wrote to: every placeholder has the value the attempt ran with."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rows import add_deployment, add_job, org_and_user
from sqlalchemy import Engine

from scorecast.config import Settings
from scorecast.connectors import registry
from scorecast.connectors.base import ConnectorContext, OutputToken
from scorecast.connectors.filesystem import staging_prefix
from scorecast.domain.job_claim import Claim
from scorecast.errors import ConnectorError
from scorecast.runtime import output_cleanup
from scorecast.runtime.store_ledger import StoreLedger
from scorecast.store.db import session_scope
from scorecast.store.models import Job

CREATED = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
SCHEDULED = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "scheduled", "target"),
    [
        ("out-{job_id}-{attempt}.csv", None, "out-{job}-1.csv"),
        ("out-{created_time:%Y%m%d}.csv", None, "out-20261207.csv"),
        # a job that is not a scheduled run: {scheduled_time} is its creation time
        ("out-{scheduled_time:%Y%m%dT%H}.csv", None, "out-20261207T10.csv"),
        ("out-{scheduled_time:%d}-{created_time:%d}.csv", SCHEDULED, "out-06-07.csv"),
    ],
)
def test_the_staging_file_of_a_dead_attempt_is_removed(
    *,
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
    name: str,
    scheduled: datetime | None,
    target: str,
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    settings = dataclasses.replace(settings, file_roots=(root,))
    org, user = org_and_user(engine)
    deployment = add_deployment(engine, org, user)
    output = {"type": "filesystem", "url": f"{root.as_uri()}/{name}", "format": "csv"}
    job = add_job(
        engine,
        org,
        user,
        created=CREATED,
        status="FAILED",
        queued=False,
        scheduled_time=scheduled,
        spec={
            "deploymentId": deployment,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": output,
        },
    )
    with session_scope(engine) as session:
        session.get_one(Job, job).deployment_id = deployment
    folder_target = root / target.format(job=job)
    staged = root / f"{staging_prefix(folder_target, OutputToken(job, 1), 1)}x1y2z3.part"
    staged.write_bytes(b"id,score\n1,0.5\n")
    other = root / f"{staging_prefix(folder_target, OutputToken('f' * 24, 1), 1)}x1y2z3.part"
    other.write_bytes(b"id,score\n")

    claim = Claim(job, 1, "w1", False)
    output_cleanup.discard_dead_attempt(settings, StoreLedger(settings, engine, claim), claim)

    assert not staged.exists()
    assert other.exists()  # another job's


def test_the_output_is_opened_with_the_cloud_identity_the_attempt_had(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An S3 output without keys that used the server's own AWS identity is reopened with it:
    anonymously, the multipart upload could not be aborted."""
    settings = dataclasses.replace(settings, ambient_cloud_identity_orgs=("org-a",))
    org, user = org_and_user(engine, "org-a")
    deployment = add_deployment(engine, org, user)
    output = {"type": "s3", "url": "s3://bucket/out-{created_time:%Y%m%d}.csv", "format": "csv"}
    job = add_job(
        engine,
        org,
        user,
        created=CREATED,
        status="FAILED",
        queued=False,
        spec={
            "deploymentId": deployment,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": output,
        },
    )
    with session_scope(engine) as session:
        session.get_one(Job, job).deployment_id = deployment
    opened: list[ConnectorContext] = []

    def open_output(settings: Mapping[str, Any], ctx: ConnectorContext) -> Any:
        opened.append(ctx)
        raise ConnectorError("not opened in this test")

    def call_here(module: str, function: str, *args: Any) -> Any:
        return getattr(output_cleanup, function)(*args)

    monkeypatch.setattr(registry, "open_output", open_output)
    monkeypatch.setattr(output_cleanup, "call_in_child", call_here)
    claim = Claim(job, 1, "w1", False)
    output_cleanup.discard_dead_attempt(settings, StoreLedger(settings, engine, claim), claim)

    [ctx] = opened
    assert ctx.ambient_identity
    assert ctx.template["created_time"] == CREATED.isoformat()
