"""Group commit on SQLite (``store/write_batches.py``): the work of callers that meet shares one
write transaction, each in a savepoint, and every caller is answered after its commit.

Each test holds the engine's writer gate (a write transaction of its own, rolled back) while
its callers ask, and waits until they all wait in the open batch: so the batches formed do not
depend on how fast the threads run.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from scorecast.store.db import create_engine_for
from scorecast.store.write_batches import MOST, TransactionLost, WriteBatches, write_batches

DEADLINE = 120.0  # seconds: generous, for a loaded machine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'batches.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE rows (name TEXT NOT NULL)"))
    try:
        yield engine
    finally:
        engine.dispose()


def _adding(name: str, *, then: Callable[[Session], None] | None = None) -> Any:
    """A caller's work as a request unit does it: in a session of its own, in a savepoint of
    the batch's connection, add a row (then maybe fail)."""

    def work(session: Session) -> str:
        session.execute(text("INSERT INTO rows (name) VALUES (:name)"), {"name": name})
        if then is not None:
            then(session)
        return name

    return work


def _commits(engine: Engine) -> list[int]:
    commits: list[int] = []
    event.listen(engine, "commit", lambda _connection: commits.append(1))
    return commits


@contextmanager
def _gate_held(engine: Engine) -> Iterator[None]:
    """The engine's writers wait at its gate while the block runs (rolled back: no commit)."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield
        finally:
            transaction.rollback()


def _ask(batches: WriteBatches, works: list[Any]) -> tuple[list[threading.Thread], list[Any]]:
    """Every work asked from a thread of its own, once all but one (the leader, waiting at the
    gate) wait in the open batch; the outcomes, in the works' order, once the threads end."""
    outcomes: list[Any] = [None] * len(works)

    def ask(index: int) -> None:
        try:
            outcomes[index] = batches.run_in_session(works[index])
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + DEADLINE
    while batches.waiting < len(works) - 1:
        assert time.monotonic() < deadline, "the callers did not all wait in the batch"
        time.sleep(0.01)
    return threads, outcomes


def _joined(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(DEADLINE)
        assert not thread.is_alive()


def _together(engine: Engine, works: list[Any], *, most: int = MOST) -> tuple[list[Any], list[int]]:
    """The works asked together (``_ask``) from new batches of ``engine``, the gate held until
    they all wait; their outcomes and the commits made."""
    batches = WriteBatches(engine, most)
    commits = _commits(engine)
    with _gate_held(engine):
        threads, outcomes = _ask(batches, works)
    _joined(threads)
    return outcomes, commits


def _refuse(_session: Session) -> None:
    raise ValueError("refused after writing")


def _names(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.scalars(text("SELECT name FROM rows")))


def test_callers_that_meet_share_one_commit(engine: Engine) -> None:
    names = [f"row {i}" for i in range(6)]
    outcomes, commits = _together(engine, [_adding(name) for name in names])
    assert outcomes == names
    assert _names(engine) == names
    assert len(commits) == 1


def test_a_failing_work_is_rolled_back_alone(engine: Engine) -> None:
    outcomes, commits = _together(
        engine, [_adding("kept 1"), _adding("dropped", then=_refuse), _adding("kept 2")]
    )
    assert outcomes[0] == "kept 1" and outcomes[2] == "kept 2"
    assert isinstance(outcomes[1], ValueError)
    assert _names(engine) == ["kept 1", "kept 2"]
    assert len(commits) == 1


def test_a_batch_where_every_work_failed_commits_nothing(engine: Engine) -> None:
    outcomes, commits = _together(engine, [_adding(f"{i}", then=_refuse) for i in range(3)])
    assert all(isinstance(outcome, ValueError) for outcome in outcomes)
    assert _names(engine) == [] and commits == []


def test_a_full_batch_hands_the_rest_to_the_next(engine: Engine) -> None:
    names = [f"row {i}" for i in range(5)]
    outcomes, commits = _together(engine, [_adding(name) for name in names], most=2)
    assert outcomes == names
    assert _names(engine) == names
    assert len(commits) == 3  # 2, 2 and 1


def test_when_the_commit_fails_no_caller_is_told_its_work_landed(engine: Engine) -> None:
    """A work that ends the shared transaction (by hand here; SQLite does it on a full disk):
    every caller whose work had succeeded is told, none gets its result, and the work still
    waiting is not run."""

    def end_the_transaction(session: Session) -> None:
        session.connection().exec_driver_sql("ROLLBACK")

    outcomes, _ = _together(
        engine, [_adding("a"), _adding("b", then=end_the_transaction), _adding("c")]
    )
    assert isinstance(outcomes[0], TransactionLost)
    assert isinstance(outcomes[1], Exception)
    assert isinstance(outcomes[2], TransactionLost)
    assert _names(engine) == []


def test_a_work_runs_in_its_callers_context(engine: Engine) -> None:
    caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller")
    batches = WriteBatches(engine)

    def named(name: str) -> Callable[[], None]:
        def ask() -> None:
            caller.set(name)
            seen.append((name, batches.run(lambda _connection: caller.get())))

        return ask

    seen: list[tuple[str, str]] = []
    with _gate_held(engine):
        threads = [threading.Thread(target=named(f"caller {i}")) for i in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + DEADLINE
        while batches.waiting < 3:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    _joined(threads)
    assert sorted(seen) == [(f"caller {i}", f"caller {i}") for i in range(4)]


def test_one_set_of_batches_per_sqlite_engine(engine: Engine) -> None:
    assert write_batches(engine) is write_batches(engine)
    other = create_engine_for("postgresql+psycopg://postgres@127.0.0.1:5432/none")
    try:
        assert write_batches(other) is None  # PostgreSQL's writers need no batches
    finally:
        other.dispose()
