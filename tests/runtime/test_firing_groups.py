"""The scheduler reads a batch of due definitions as groups that share one decision
(``service.due_batch.due_groups``) and writes the plain groups from their ids alone
(``fire_writer.BatchWriter.start_group``); the rest is decided row by row. On both stores.

- The groups are exactly the batch (the first ``limit`` due definitions after ``after``, in the
  due order), each group's definitions share its key, and *plain* is true exactly for the
  definitions with nothing of their own to read (a property over drawn definitions).
- Firing a varied store through the groups records the same fires, jobs and definition fields
  as deciding every definition row by row (``BatchWriter.plan`` over all of them), with and
  without a scheduler alive through the due times.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rows import EVERY_MINUTE, add_definition, add_deployment, add_job, local_spec, org_and_user
from sqlalchemy import Engine, delete, select, text
from test_firing_batch_split import fire_all
from test_firing_deleted_references import jdbc_spec, references

from hypothesis_profiles import examples
from scorecast.domain.schedule.liveness import AliveSpan
from scorecast.service.due_batch import due_groups, rows_of
from scorecast.service.fire_writer import BatchWriter
from scorecast.service.firing import fire_batch
from scorecast.service.scheduler_liveness import store_alive_since
from scorecast.store.db import create_engine_for, session_scope
from scorecast.store.models import Job, JobDefinition, JobLog, ScheduleFire
from services import BACKENDS, fresh_store

_IDS = re.compile("[0-9a-f]{24}")
NOW = datetime(2026, 3, 2, 12, 0, 20, tzinfo=UTC)
DUE = NOW.replace(second=0)
DAILY_NOON = {**EVERY_MINUTE, "minute": [0], "hour": [12]}
SCHEDULES = [EVERY_MINUTE, DAILY_NOON]
POLICIES: list[dict[str, Any] | None] = [
    None,
    {"overlapPolicy": "queue"},
    {"jitterSeconds": 10},
    {"catchUp": {"windowSeconds": 7200, "maxRuns": 2}},
]
#: why a definition is not plain (None: it is)
REASONS = [
    None,
    "references",
    "foreign deployment",
    "no deployment",
    "no deployment key",
    "running job",
    "waiting job",
    "noted running",  # its row names a running last job (another scheduler's fire, committed
    # after this batch's statement began on PostgreSQL), though no job is found
    "recorded",
]
#: where each drawn definition's spec reads from besides its reason
INTAKES = ["localFile", "s3"]


#: (schedule, policies, minutes behind, intake, reason not plain)
Kind = tuple[int, int, int, str, str | None]


@pytest.fixture(params=BACKENDS)
def engine_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Engine]]:
    """Two fresh stores of the parametrized backend."""
    with ExitStack() as stack:
        urls = [
            stack.enter_context(fresh_store(request, request.param, tmp_path / f"{name}.db"))
            for name in ("a", "b")
        ]
        engines = [create_engine_for(url) for url in urls]
        yield engines
        for engine in engines:
            engine.dispose()


class Store:
    """An organization, its deployment, a credential and a data store, and another
    organization's deployment: what drawn definitions refer to."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.org, self.user = org_and_user(engine, "groups")
        self.deployment = add_deployment(engine, self.org, self.user)
        self.credential, self.data_store = references(engine, self.org, self.user)
        other_org, other_user = org_and_user(engine, "others")
        self.foreign = add_deployment(engine, other_org, other_user)

    def add(self, name: str, kind: Kind) -> str:
        schedule, policies, behind, intake, reason = kind
        spec = local_spec(self.deployment)
        if intake == "s3":
            spec["intakeSettings"] = {"type": "s3", "url": "s3://bucket/in.csv"}
        if reason == "references":
            spec = jdbc_spec(self.deployment, self.credential, self.data_store)
        elif reason == "foreign deployment":
            spec["deploymentId"] = self.foreign
        elif reason == "no deployment":
            spec["deploymentId"] = "f" * 24
        elif reason == "no deployment key":
            del spec["deploymentId"]
        next_time = DUE - timedelta(minutes=behind)
        definition = add_definition(
            self.engine,
            self.org,
            self.user,
            id=hashlib.blake2b(name.encode(), digest_size=12).hexdigest(),  # jitter: same ids
            name=name,
            enabled=True,
            schedule=SCHEDULES[schedule],
            policies=POLICIES[policies],
            job_spec=spec,
            next_scheduled_run_time=next_time,
            next_due_at=next_time + timedelta(seconds=3) if policies == 2 else None,
            last_started_job_status="RUNNING" if reason == "noted running" else None,
        )
        if reason in ("running job", "waiting job"):
            add_job(
                self.engine,
                self.org,
                self.user,
                definition_id=definition,
                status="RUNNING" if reason == "running job" else "INITIALIZING",
                created=NOW - timedelta(hours=1),
            )
        if reason == "recorded":
            with session_scope(self.engine) as session:
                session.add(
                    ScheduleFire(
                        definition_id=definition,
                        scheduled_time=next_time,
                        fired_at=NOW - timedelta(seconds=5),
                        outcome="started",
                    )
                )
        return definition


DRAWN = st.tuples(
    st.integers(0, len(SCHEDULES) - 1),
    st.integers(0, len(POLICIES) - 1),
    st.sampled_from([0, 2]),
    st.sampled_from(INTAKES),
    st.sampled_from(REASONS),
)


@pytest.fixture
def store(engine: Engine) -> Store:
    return Store(engine)


@settings(
    max_examples=examples(30),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    drawn=st.lists(DRAWN, min_size=1, max_size=14),
    limit=st.integers(1, 16),
    skip=st.integers(0, 6),
)
def test_the_groups_are_the_batch_and_plain_says_what_needs_no_row(
    store: Store, drawn: list[Kind], limit: int, skip: int
) -> None:
    with session_scope(store.engine) as session:
        for table in (ScheduleFire, JobLog, Job, JobDefinition):
            session.execute(delete(table))
    made = {
        store.add(f"d{i}", values): values for i, values in enumerate(drawn)
    }  # id -> what was drawn
    with session_scope(store.engine) as session:
        due = session.execute(
            select(JobDefinition.next_scheduled_run_time, JobDefinition.id)
            .where(JobDefinition.next_due_at.is_(None) | (JobDefinition.next_due_at <= NOW))
            .order_by(JobDefinition.next_scheduled_run_time, JobDefinition.id)
        ).all()
    after = (due[skip - 1][0], due[skip - 1][1]) if 0 < skip <= len(due) else None
    start = skip if after is not None else 0
    batch = [definition_id for _, definition_id in due[start : start + limit]]

    with session_scope(store.engine, immediate=True) as session:
        groups = due_groups(session, NOW, limit, after)

    grouped = [definition_id for group in groups for definition_id in group.definition_ids]
    assert sorted(grouped) == sorted(batch)
    for group in groups:
        keys = {_key(made[d]) for d in group.definition_ids}
        assert len(keys) == 1, "a group's definitions share schedule, policies and intake"
        assert {made[d][4] is None for d in group.definition_ids} == {group.plain}
        assert all(
            group.next_time == DUE - timedelta(minutes=made[d][2]) for d in group.definition_ids
        )
    if batch:
        assert max((g.next_time, g.last_id) for g in groups) == tuple(due[start + len(batch) - 1])


def _key(kind: Kind) -> tuple[int, int, str]:
    schedule, policies, _, intake, reason = kind
    return schedule, policies, "jdbc" if reason == "references" else intake


def add_variety(store: Store) -> dict[str, Kind]:
    """Every drawn kind once, and a dozen plain definitions sharing a decision; their kinds."""
    kinds: dict[str, Kind] = {}
    for schedule in range(len(SCHEDULES)):
        for policies in range(len(POLICIES)):
            for behind in (0, 90):
                for intake in INTAKES:
                    for reason in REASONS:
                        kind = (schedule, policies, behind, intake, reason)
                        kinds[store.add(f"v{len(kinds)}", kind)] = kind
    for extra in range(12):
        kind = (1, 0, 0, "localFile", None)
        kinds[store.add(f"plain{extra}", kind)] = kind
    return kinds


def fire_row_by_row(engine: Engine, *, alive: bool) -> None:
    own = AliveSpan(NOW - timedelta(days=1), NOW) if alive else None
    with session_scope(engine, immediate=True) as session:
        groups = due_groups(session, NOW, 10_000, None)
        rows = rows_of(session, [d for group in groups for d in group.definition_ids])
        writer = BatchWriter(session, NOW, None)
        writer.plan(rows, store_alive_since(session, NOW, own))
        writer.write()


def recorded(engine: Engine) -> dict[str, Any]:
    """Per definition name: its fires, its jobs and its scheduling fields."""
    with session_scope(engine) as session:
        names = dict(session.execute(select(JobDefinition.id, JobDefinition.name)).all())
        fires = session.execute(
            select(
                ScheduleFire.definition_id,
                ScheduleFire.scheduled_time,
                ScheduleFire.fired_at,
                ScheduleFire.outcome,
                ScheduleFire.reason,
                ScheduleFire.lateness_seconds,
            ).order_by(ScheduleFire.definition_id, ScheduleFire.scheduled_time)
        ).all()
        jobs = session.execute(
            select(
                Job.definition_id,
                Job.status,
                Job.status_details,
                Job.scheduled_time,
                Job.intake_ready,
                Job.created_by,
                Job.after_previous,
                Job.created,
            ).order_by(Job.definition_id, Job.scheduled_time, Job.status)
        ).all()
        logs = session.execute(
            select(Job.definition_id, JobLog.message)
            .join(Job, Job.id == JobLog.job_id)
            .order_by(Job.definition_id, JobLog.message)
        ).all()
        definitions = session.execute(
            select(
                JobDefinition.name,
                JobDefinition.next_scheduled_run_time,
                JobDefinition.next_due_at,
                JobDefinition.last_scheduled_run_time,
                JobDefinition.last_started_job_status,
                JobDefinition.last_failed_run_time,
            ).order_by(JobDefinition.name)
        ).all()
    by_name: dict[str, Any] = {
        name: {"fires": [], "jobs": [], "logs": []} for name in names.values()
    }
    for definition_id, *fire in fires:
        text = [_IDS.sub("<id>", str(value)) for value in fire]  # ids differ between stores
        by_name[names[definition_id]]["fires"].append(text)
    for definition_id, *job in jobs:
        by_name[names[definition_id]]["jobs"].append(tuple(job))
    for definition_id, message in logs:
        by_name[names[definition_id]]["logs"].append(message)
    for name, *fields in definitions:
        by_name[name]["definition"] = tuple(fields)
    return by_name


@pytest.mark.parametrize("alive", [True, False], ids=["scheduler-alive", "after-downtime"])
def test_groups_fire_the_same_as_deciding_each_row(engine_pair: list[Engine], alive: bool) -> None:
    grouped, one_by_one = (Store(engine) for engine in engine_pair)
    for store in (grouped, one_by_one):
        add_variety(store)
    fire_all(grouped.engine, 7, alive=alive)
    fire_row_by_row(one_by_one.engine, alive=alive)

    by_groups, by_rows = recorded(grouped.engine), recorded(one_by_one.engine)
    # the users' ids differ between the two stores: compare who created each job by role
    for store, result in ((grouped, by_groups), (one_by_one, by_rows)):
        for entry in result.values():
            entry["jobs"] = [(*job[:4], job[4] == store.user, *job[5:]) for job in entry["jobs"]]
    assert by_groups == by_rows
    outcomes = {fire[2] for entry in by_groups.values() for fire in entry["fires"]}
    assert {"started", "skipped", "queued", "failed"} <= outcomes
    assert ("missed" in outcomes) is not alive
    started_plain = [e for name, e in by_groups.items() if name.startswith("plain")]
    assert all(len(entry["jobs"]) == 1 for entry in started_plain)


def test_plain_groups_that_start_one_job_each_are_written_from_their_ids(store: Store) -> None:
    """The fast path is taken exactly where it applies: a plain group, due once, no jitter."""
    kinds = add_variety(store)
    alive = AliveSpan(NOW - timedelta(days=1), NOW)
    with session_scope(store.engine, immediate=True) as session:
        groups = due_groups(session, NOW, 10_000, None)
        writer = BatchWriter(session, NOW, None)
        since = store_alive_since(session, NOW, alive)
        for group in groups:
            schedule, policies, behind, _, reason = kinds[group.definition_ids[0]]
            expected = (
                reason is None and POLICIES[policies] != {"jitterSeconds": 10} and behind == 0
            )
            assert writer.start_group(group, since) is expected, (schedule, policies, behind)
        session.rollback()
    assert sum(len(group.definition_ids) for group in groups) == len(kinds)
    assert len(groups) < len(kinds) - 11  # the dozen plain ones share one group


def test_older_fires_are_claimed_first(engine: Engine) -> None:
    """Jobs of one batch share their creation time; workers claim them by id, which must
    follow the scheduled times (the groups come back in no such order)."""
    store = Store(engine)
    eleven = store.add("eleven", (1, 0, 0, "localFile", None))
    with session_scope(engine) as session:
        definition = session.get(JobDefinition, eleven)
        assert definition is not None
        definition.schedule = {**DAILY_NOON, "minute": [59], "hour": [11]}
        definition.next_scheduled_run_time = DUE - timedelta(minutes=1)
    store.add("noon", (1, 0, 0, "localFile", None))
    store.add("noon-s3", (1, 0, 0, "s3", None))
    fire_all(engine, 100, alive=True)
    with session_scope(engine) as session:
        claimed = session.execute(
            select(JobDefinition.name, Job.scheduled_time)
            .join(JobDefinition, JobDefinition.id == Job.definition_id)
            .order_by(Job.created, Job.id)
        ).all()
    names = [name for name, _ in claimed]
    assert names[0] == "eleven" and sorted(names[1:]) == ["noon", "noon-s3"]


def test_a_batch_reports_how_many_it_handled_and_where_it_ended(engine: Engine) -> None:
    store = Store(engine)
    add_variety(store)
    with session_scope(engine) as session:
        due = session.execute(
            select(JobDefinition.next_scheduled_run_time, JobDefinition.id)
            .where(JobDefinition.next_due_at.is_(None) | (JobDefinition.next_due_at <= NOW))
            .order_by(JobDefinition.next_scheduled_run_time, JobDefinition.id)
        ).all()
    alive = AliveSpan(NOW - timedelta(days=1), NOW)
    after = None
    for batch in range(3):
        with session_scope(engine, immediate=True) as session:
            result = fire_batch(session, NOW, limit=7, own_span=alive, after=after)
        assert result.handled == 7
        assert result.last == tuple(due[7 * batch + 6])
        after = result.last


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_batch_takes_the_next_definitions_past_those_another_scheduler_holds(
    engine: Engine,
) -> None:
    store = Store(engine)
    due = sorted(store.add(f"p{i}", (1, 0, 0, "localFile", None)) for i in range(10))
    held = due[:4]  # same next time: the due order is the ids'
    with engine.connect() as other, other.begin():
        other.execute(select(JobDefinition.id).where(JobDefinition.id.in_(held)).with_for_update())
        with session_scope(engine) as session:
            session.execute(text("SET LOCAL lock_timeout = '10s'"))  # fail, not hang, if it waits
            groups = due_groups(session, NOW, 3, None)
            session.rollback()
    assert sorted(d for group in groups for d in group.definition_ids) == due[4:7]
    assert all(group.plain for group in groups)
