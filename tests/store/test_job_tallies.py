"""The job tally (``store.job_tallies``, migrations ``0012_job_list_counts`` and
``0013_job_tally_keys``) stays exact on both stores, for the organization's jobs and for every
combination of the list's filters on its key (deployment, source and its negation, intake and
output types): through jobs created by the service, bulk inserts, deletions, retention pruning,
updates of a key, any sequence of them (hypothesis), concurrent submissions on PostgreSQL (which
never wait for each other), a rolled-back transaction, and ids past 32 bits (migration
``0018_job_tally_bigint``); its rows stay few (the triggers fold them to one per key)."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, event, func, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from scorecast.domain.job_spec import JobSpec
from scorecast.service import accounts, jobs, retention
from scorecast.service.caller import Caller
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.job_tallies import job_count
from scorecast.store.models import Job, JobTally
from scorecast.store.types import new_id
from tallies import SEQUENCES, downgrade

T0 = datetime(2026, 1, 1, tzinfo=UTC)
#: the fold period of the migration's triggers
FOLD_EVERY = 256
DEPLOYMENTS = ("d" * 24, "e" * 24)
SOURCES = ("api", "manual", "scheduled")
INTAKES = ("localFile", "s3")
#: None: a spec without an output type (a NULL key column)
OUTPUTS = ("localFile", "jdbc", None)
#: a job's tally key: (deployment, source, intake type, output type)
Key = tuple[str, str, str, str | None]
KEYS: list[Key] = list(itertools.product(DEPLOYMENTS, SOURCES, INTAKES, OUTPUTS))
SPEC = {
    "deploymentId": "d" * 24,
    "intakeSettings": {"type": "localFile"},
    "outputSettings": {"type": "localFile"},
}

#: the filter combinations whose totals are checked: every value of each key filter, with
#: repeated values and source negations
FILTERS = [
    jobs.JobFilters(
        deployment_id=deployment, sources=sources, intake_types=intakes, output_types=outputs
    )
    for deployment, sources, intakes, outputs in itertools.product(
        (None, *DEPLOYMENTS),
        ((), ("api",), ("-api",), ("manual", "scheduled"), ("api", "api"), ("-api", "-manual")),
        ((), ("localFile",), ("s3", "localFile")),
        ((), ("jdbc",), ("localFile", "localFile")),
    )
]


def _spec(key: Key) -> dict[str, Any]:
    deployment, _, intake, output = key
    return {
        "deploymentId": deployment,
        "intakeSettings": {"type": intake},
        "outputSettings": {} if output is None else {"type": output},
    }


def _matches(filters: jobs.JobFilters, key: Key) -> bool:
    """The list's filters as the API documents them, on one job's key."""
    deployment, source, intake, output = key
    included = [s for s in filters.sources if not s.startswith("-")]
    excluded = [s[1:] for s in filters.sources if s.startswith("-")]
    return (
        (filters.deployment_id is None or deployment == filters.deployment_id)
        and (not included or source in included)
        and source not in excluded
        and (not filters.intake_types or intake in filters.intake_types)
        and (not filters.output_types or output in filters.output_types)
    )


def _callers(engine: Engine) -> tuple[Caller, Caller]:
    with session_scope(engine) as session:
        found = []
        for name in ("first", "second"):
            organization = accounts.ensure_organization(session, name)
            user = accounts.ensure_user(session, organization, f"{name}-user")
            found.append(Caller(org_id=organization.id, user_id=user.id, username=user.username))
        return found[0], found[1]


def _bulk(session: Session, caller: Caller, count: int, key: Key = KEYS[0]) -> None:
    if count:
        rows = [
            {
                "id": new_id(),
                "org_id": caller.org_id,
                "deployment_id": key[0],
                "source": key[1],
                "spec": _spec(key),
                "created_by": caller.user_id,
                "created": T0 + timedelta(seconds=n),
            }
            for n in range(count)
        ]
        session.execute(insert(Job), rows)


def _rekey(session: Session, caller: Caller, count: int, key: Key) -> None:
    """Give ``count`` jobs another key (no code does; the update trigger keeps the tally exact)."""
    ids = session.scalars(
        select(Job.id).where(Job.org_id == caller.org_id).order_by(Job.id.desc()).limit(count)
    ).all()
    if ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(ids))
            .values(deployment_id=key[0], source=key[1], spec=_spec(key))
        )


def _delete(session: Session, caller: Caller, count: int) -> None:
    ids = session.scalars(
        select(Job.id).where(Job.org_id == caller.org_id).order_by(Job.id).limit(count)
    ).all()
    if ids:
        session.execute(delete(Job).where(Job.id.in_(ids)))


def _assert_exact(
    engine: Engine, *callers: Caller, filter_sets: Sequence[jobs.JobFilters] = FILTERS
) -> None:
    """Every organization's total, and the total of every filter combination on the tally's
    key (or of ``filter_sets``), as the job list reads them (``limit=0``: the count alone),
    equal the real counts."""
    with session_scope(engine, deferred=True) as session:
        for caller in callers:
            keys = Counter[Key](
                (row.deployment_id, row.source, row.intake_type, row.output_type)
                for row in session.execute(
                    select(Job.deployment_id, Job.source, Job.intake_type, Job.output_type).where(
                        Job.org_id == caller.org_id
                    )
                )
            )
            assert job_count(session, caller.org_id) == keys.total()
            for filters in filter_sets:
                _, total = jobs.list_jobs(session, caller, filters, offset=0, limit=0)
                expected = sum(count for key, count in keys.items() if _matches(filters, key))
                assert total == expected, filters
        tally_rows = session.scalar(select(func.count()).select_from(JobTally)) or 0
    assert tally_rows <= FOLD_EVERY + 2 * len(KEYS) * len(callers), tally_rows


def test_the_tally_follows_creations_deletions_and_retention(engine: Engine) -> None:
    first, second = _callers(engine)
    _assert_exact(engine, first, second)
    spec = JobSpec.from_wire(SPEC)
    with session_scope(engine) as session:
        for _ in range(3):
            jobs.insert_job(session, first, spec, "api")
        _bulk(session, second, 300, KEYS[5])
        _bulk(session, second, 400, KEYS[-1])  # crosses folds
    _assert_exact(engine, first, second)
    with session_scope(engine) as session:
        _delete(session, second, 450)
        _bulk(session, first, 30, KEYS[7])
    _assert_exact(engine, first, second)
    with session_scope(engine) as session:
        old = session.scalars(select(Job.id).where(Job.org_id == first.org_id).limit(20)).all()
        retention.prune_jobs(session, old)
    _assert_exact(engine, first, second)
    with session_scope(engine, deferred=True) as session:
        assert job_count(session, first.org_id) == 13
        assert job_count(session, second.org_id) == 250


def test_a_rolled_back_transaction_leaves_the_tally_as_it_was(engine: Engine) -> None:
    first, second = _callers(engine)
    with session_scope(engine) as session:
        _bulk(session, first, 10)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        _bulk(session, first, FOLD_EVERY)  # folds inside the transaction, then rolls back
        _delete(session, first, 5)
        raise RuntimeError("roll back")
    _assert_exact(engine, first, second)
    with session_scope(engine, deferred=True) as session:
        assert job_count(session, first.org_id) == 10


def test_the_job_lists_filtered_on_the_key_total_by_the_tally_and_count_no_job(
    engine: Engine,
) -> None:
    first, second = _callers(engine)
    with session_scope(engine) as session:
        _bulk(session, first, 260)
        _bulk(session, first, 120, ("e" * 24, "scheduled", "s3", None))
        _bulk(session, second, 5)
    statements: list[str] = []

    def capture(_c: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    def total(filters: jobs.JobFilters, **page: int) -> int:
        return jobs.list_jobs(session, first, filters, **{"offset": 0, "limit": 100, **page})[1]

    by_deployment = jobs.JobFilters(deployment_id="d" * 24)
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with session_scope(engine, deferred=True) as session:
            totals = [
                total(jobs.JobFilters()),
                total(jobs.JobFilters(), count_limit=150),
                total(jobs.JobFilters(), offset=200, limit=50),
                total(by_deployment),
                total(by_deployment, offset=200, limit=50),
                total(jobs.JobFilters(intake_types=["localFile"])),
                total(jobs.JobFilters(intake_types=["s3", "localFile"], order_by="created")),
                total(jobs.JobFilters(sources=["-api"], output_types=["localFile", "jdbc"])),
                total(jobs.JobFilters(deployment_id="e" * 24, sources=["scheduled", "api"])),
            ]
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert totals == [380, 150, 380, 260, 260, 260, 380, 0, 120]
    assert not [s for s in statements if "count(" in s.lower() and "FROM jobs" in s], statements
    statements.clear()
    event.listen(engine, "before_cursor_execute", capture)
    try:  # a filter off the key still counts its matches
        with session_scope(engine, deferred=True) as session:
            counted = [
                total(jobs.JobFilters(statuses=["INITIALIZING"], deployment_id="d" * 24)),
                total(jobs.JobFilters(created_after=T0 + timedelta(seconds=200)), limit=50),
            ]
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert counted == [260, 60]
    assert len([s for s in statements if "count(" in s.lower() and "FROM jobs" in s]) == 2


@SEQUENCES
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["add", "delete", "rekey"]),
            st.booleans(),
            st.integers(0, 300),
            st.sampled_from(KEYS),
        ),
        max_size=6,
    ),
    # a sample of the filter combinations each example (all of them cost 324 list reads)
    filter_sets=st.lists(st.sampled_from(FILTERS), min_size=1, max_size=24),
)
def test_any_sequence_of_inserts_and_deletes_keeps_the_tally_exact(
    engine: Engine, steps: list[tuple[str, bool, int, Key]], filter_sets: list[jobs.JobFilters]
) -> None:
    first, second = _callers(engine)  # the same two organizations in every example
    for action, in_first, count, key in steps:
        caller = first if in_first else second
        with session_scope(engine) as session:
            if action == "add":
                _bulk(session, caller, count, key)
            elif action == "delete":
                _delete(session, caller, count)
            else:
                _rekey(session, caller, count, key)
    _assert_exact(engine, first, second, filter_sets=filter_sets)


def test_concurrent_submissions_keep_the_tally_exact_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    first, second = _callers(engine)
    errors: list[BaseException] = []

    def submit(caller: Caller, keys: list[Key]) -> None:
        try:
            for n in range(40):
                with session_scope(engine) as session:
                    _bulk(session, caller, 7, keys[n % len(keys)])
                    _delete(session, caller, 2)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    threads = [
        threading.Thread(target=submit, args=(caller, KEYS[n::6]))
        for n, caller in enumerate((first, second) * 3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    _assert_exact(engine, first, second)


def test_a_submission_never_waits_for_another_on_postgresql(engine: Engine) -> None:
    """A transaction whose tally rows are not committed yet holds no lock another submission
    needs, not even when that one folds the tally (uncommitted rows are left to a later fold)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    first, second = _callers(engine)
    with session_scope(engine) as waiting:
        _bulk(waiting, first, 3)  # uncommitted until the end of this block
        with session_scope(engine) as other:
            # had it to wait for ``waiting``, ``other`` would fail here rather than hang
            other.execute(text("SET LOCAL lock_timeout = '20s'"))
            for n in range(FOLD_EVERY + 4):  # one tally row per statement: crosses a fold
                _bulk(other, (first, second)[n % 2], 1, KEYS[n % 3])
        with session_scope(engine, deferred=True) as session:
            assert job_count(session, first.org_id) == FOLD_EVERY // 2 + 2
    _assert_exact(engine, first, second)
    with session_scope(engine, deferred=True) as session:
        assert job_count(session, first.org_id) == FOLD_EVERY // 2 + 2 + 3
        assert job_count(session, second.org_id) == FOLD_EVERY // 2 + 2
        folded = session.scalar(select(func.count()).select_from(JobTally)) or 0
    assert folded < FOLD_EVERY


#: a tally id past what 32 bits hold (PostgreSQL's ``integer`` ends at 2**31 - 1)
PAST_32_BITS = 2**31 + 10


def _ids_past_32_bits(session: Session) -> None:
    """Make the tally's next ids exceed 32 bits, as a long-lived store's would."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT setval('job_tallies_id_seq', {PAST_32_BITS})"))
    else:  # the next rowid is the greatest one's next
        session.execute(
            insert(JobTally).values(
                id=PAST_32_BITS,
                org_id="f" * 24,
                deployment_id="f" * 24,
                source="api",
                intake_type=None,
                output_type=None,
                delta=0,
            )
        )


def test_the_tally_takes_ids_past_32_bits(engine: Engine) -> None:
    """Jobs are still submitted, deleted and counted once the tally's ids no longer fit 32 bits
    (migration ``0018_job_tally_bigint``; before it, PostgreSQL refused every job there)."""
    first, second = _callers(engine)
    with session_scope(engine) as session:
        _ids_past_32_bits(session)
    spec = JobSpec.from_wire(SPEC)
    with session_scope(engine) as session:
        jobs.insert_job(session, first, spec, "api")
        _bulk(session, second, 2 * FOLD_EVERY, KEYS[3])  # crosses folds
    with session_scope(engine) as session:
        _delete(session, second, 20)
    _assert_exact(engine, first, second)
    with session_scope(engine, deferred=True) as session:
        assert (session.scalar(select(func.max(JobTally.id))) or 0) > PAST_32_BITS
        assert job_count(session, second.org_id) == 2 * FOLD_EVERY - 20


def test_the_upgrade_widens_the_ids_and_keeps_the_tally(empty_url: str) -> None:
    migrate(empty_url, "0017_definition_tally")
    engine = create_engine_for(empty_url, poolclass=NullPool)
    try:
        first, second = _callers(engine)
        with session_scope(engine) as session:
            _bulk(session, first, 300, KEYS[2])
        migrate(empty_url)
        with session_scope(engine) as session:
            _ids_past_32_bits(session)
            _bulk(session, second, 40, KEYS[4])
        _assert_exact(engine, first, second)
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                kinds = connection.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns"
                        " WHERE table_name = 'job_tallies' AND column_name = 'id'"
                        " UNION ALL SELECT data_type FROM information_schema.sequences"
                        " WHERE sequence_name = 'job_tallies_id_seq'"
                    )
                ).scalars()
                assert list(kinds) == ["bigint", "bigint"]
        with session_scope(engine) as session:  # ids that 32 bits hold, for the downgrade
            session.execute(delete(JobTally).where(JobTally.id > 2**31 - 1))
            if engine.dialect.name == "postgresql":
                session.execute(text("SELECT setval('job_tallies_id_seq', 1000000)"))
            _bulk(session, first, 5, KEYS[2])
        downgrade(empty_url, "0017_definition_tally")
        with session_scope(engine) as session:
            _bulk(session, first, 7, KEYS[2])
        with session_scope(engine, deferred=True) as session:
            # the rows taken out above held the 40 jobs of ``second``
            assert job_count(session, first.org_id) == 312
        migrate(empty_url)
    finally:
        engine.dispose()
