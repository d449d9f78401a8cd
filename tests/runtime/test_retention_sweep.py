"""Retention on SQLite and PostgreSQL: results beyond a definition's (or the server's) retention
leave the disk, their jobs say ``results_deleted``, and their rows go after the grace period."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rows import add_definition, add_job, org_and_user
from sqlalchemy import Engine, select

from scorecast import home_layout
from scorecast.config import RetentionSettings, Settings
from scorecast.domain.definition_policies import parse_policies, policies_to_wire
from scorecast.runtime.retention_sweep import sweep
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobLog

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def finished_jobs(
    engine: Engine, settings: Settings, definition_id: str | None, statuses: list[str]
) -> list[str]:
    """Jobs finished one day apart, oldest first, each with a result and an upload on disk."""
    org, user = org_and_user(engine, f"org-{uuid.uuid4().hex}")
    ids = []
    for index, status in enumerate(statuses):
        moment = NOW - timedelta(days=len(statuses) - index)
        job_id = add_job(
            engine,
            org,
            user,
            created=moment,
            definition_id=definition_id,
            status=status,
            queued=False,
            finished=moment + timedelta(minutes=1),
        )
        for folder in (
            (settings.home / home_layout.result_folder(job_id)),
            (settings.home / home_layout.upload_folder(job_id)),
        ):
            folder.mkdir(parents=True)
            (folder / "data.csv").write_bytes(b"x" * 4096)
        ids.append(job_id)
    return ids


def definition_with(engine: Engine, **policies: object) -> str:
    org, user = org_and_user(engine, f"org-{uuid.uuid4().hex}")
    return add_definition(engine, org, user, policies=policies_to_wire(parse_policies(policies)))


def with_retention(settings: Settings, **values: object) -> Settings:
    return replace(settings, retention=RetentionSettings(**values))  # type: ignore[arg-type]


def deleted(engine: Engine, job_ids: list[str]) -> list[bool]:
    with session_scope(engine) as session:
        rows = session.execute(select(Job.id, Job.results_deleted).where(Job.id.in_(job_ids)))
        found = {job_id: bool(flag) for job_id, flag in rows}
        return [found[job_id] for job_id in job_ids]


def on_disk(settings: Settings, job_ids: list[str]) -> list[bool]:
    return [(settings.home / home_layout.result_folder(job_id)).exists() for job_id in job_ids]


def home_bytes(settings: Settings) -> int:
    return sum(p.stat().st_size for p in Path(settings.home).rglob("*") if p.is_file())


def test_a_definitions_max_jobs_keeps_the_newest_and_the_last_successful(
    engine: Engine, settings: Settings
) -> None:
    definition_id = definition_with(engine, retention={"maxJobs": 2})
    statuses = ["FAILED", "COMPLETED", "FAILED", "ABORTED", "FAILED"]
    ids = finished_jobs(engine, settings, definition_id, statuses)
    before = home_bytes(settings)
    swept = sweep(settings, engine, NOW)
    assert sorted(swept.results_deleted) == sorted([ids[0], ids[2]])
    expected = [True, False, True, False, False]  # ids[1]: the last COMPLETED one is kept
    assert deleted(engine, ids) == expected
    assert on_disk(settings, ids) == [not gone for gone in expected]
    assert not any((settings.home / home_layout.upload_folder(ids[i])).exists() for i in (0, 2))
    assert home_bytes(settings) < before
    assert sweep(settings, engine, NOW).results_deleted == []  # nothing twice


def test_the_server_default_applies_to_definitions_without_their_own(
    engine: Engine, settings: Settings
) -> None:
    own = definition_with(engine, retention={"maxJobs": 10})
    plain = definition_with(engine)
    kept = finished_jobs(engine, settings, own, ["FAILED"] * 3)
    ids = finished_jobs(engine, settings, plain, ["FAILED"] * 3)
    loose = finished_jobs(engine, settings, None, ["COMPLETED"] * 3)
    server = with_retention(settings, max_age_days=2, keep_last_successful=False)
    sweep(server, engine, NOW)
    assert deleted(engine, kept) == [False, False, False]
    assert deleted(engine, ids) == [True, False, False]  # finished 3 days ago
    assert deleted(engine, loose) == [True, False, False]  # jobs without a definition: age


def test_by_default_everything_is_kept(engine: Engine, settings: Settings) -> None:
    ids = finished_jobs(engine, settings, definition_with(engine), ["FAILED"] * 4)
    ids += finished_jobs(engine, settings, None, ["COMPLETED"] * 2)
    assert sweep(settings, engine, NOW + timedelta(days=3650)).results_deleted == []
    assert all(on_disk(settings, ids))


def test_rows_are_pruned_after_the_grace_period(engine: Engine, settings: Settings) -> None:
    definition_id = definition_with(engine, retention={"maxJobs": 1, "keepLastSuccessful": False})
    ids = finished_jobs(engine, settings, definition_id, ["FAILED"] * 3)
    server = with_retention(settings, prune_after_days=7)
    assert sorted(sweep(server, engine, NOW).results_deleted) == sorted(ids[:2])
    assert sweep(server, engine, NOW + timedelta(days=6)).rows_pruned == []
    assert sorted(sweep(server, engine, NOW + timedelta(days=7)).rows_pruned) == sorted(ids[:2])
    with session_scope(engine) as session:
        left = set(session.scalars(select(Job.id)))
        logs = set(session.scalars(select(JobLog.job_id)))
    assert ids[2] in left and not left & set(ids[:2]) and not logs & set(ids[:2])


def test_a_sweep_handles_at_most_its_batch(engine: Engine, settings: Settings) -> None:
    definition_id = definition_with(engine, retention={"maxJobs": 1, "keepLastSuccessful": False})
    ids = finished_jobs(engine, settings, definition_id, ["FAILED"] * 6)
    server = with_retention(settings, batch=2)
    assert len(sweep(server, engine, NOW).results_deleted) == 2
    assert len(sweep(server, engine, NOW).results_deleted) == 2
    assert len(sweep(server, engine, NOW).results_deleted) == 1
    assert deleted(engine, ids) == [True] * 5 + [False]


def test_running_and_waiting_jobs_keep_their_files(engine: Engine, settings: Settings) -> None:
    definition_id = definition_with(engine, retention={"maxJobs": 1, "keepLastSuccessful": False})
    ids = finished_jobs(engine, settings, definition_id, ["RUNNING", "INITIALIZING", "FAILED"])
    sweep(settings, engine, NOW + timedelta(days=100))
    assert deleted(engine, ids) == [False, False, False]


def test_servers_sweeping_at_once_delete_and_prune_each_job_once(
    engine: Engine, settings: Settings
) -> None:
    import threading

    definition_id = definition_with(engine, retention={"maxJobs": 1, "keepLastSuccessful": False})
    ids = finished_jobs(engine, settings, definition_id, ["FAILED"] * 8)
    server = with_retention(settings, prune_after_days=0)
    barrier = threading.Barrier(3)
    pruned: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        swept = sweep(server, engine, NOW)
        with lock:
            pruned.extend(swept.rows_pruned)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    sweep(server, engine, NOW)  # whatever a racing sweep left for the next one
    with session_scope(engine) as session:
        left = set(session.scalars(select(Job.id)))
    assert left == {ids[-1]}
    assert len(pruned) == len(set(pruned))
    assert on_disk(settings, ids) == [False] * 7 + [True]
