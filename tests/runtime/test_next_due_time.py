"""``next_due_time`` (the scheduler's alarm) on both stores equals its definition, computed
here over the rows: the earliest next fire time after ``now``, or the earliest due time
(``next_due_at`` with jitter, else the next fire time) of the enabled definitions whose next
fire time has come; None when no enabled definition has a next fire time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rows import EVERY_MINUTE, add_definition, org_and_user
from sqlalchemy import Engine, delete

from hypothesis_profiles import examples
from scorecast.service.firing import next_due_time
from scorecast.store.db import session_scope
from scorecast.store.models import JobDefinition

NOW = datetime(2026, 3, 2, 12, 0, 20, tzinfo=UTC)

#: (enabled, next fire time in seconds from NOW or None, jitter offset in seconds or None)
DEFINITION = st.tuples(
    st.sampled_from([True, True, False]),
    st.one_of(st.integers(-90, 30), st.none()),
    st.one_of(st.none(), st.integers(0, 60)),
)


def expected(drawn: list[tuple[bool, int | None, int | None]]) -> datetime | None:
    upcoming = [NOW + timedelta(seconds=s) for on, s, _ in drawn if on and s is not None and s > 0]
    arrived = [
        NOW + timedelta(seconds=s + (jitter or 0))
        for on, s, jitter in drawn
        if on and s is not None and s <= 0
    ]
    times = [min(found) for found in (upcoming, arrived) if found]
    return min(times) if times else None


@settings(
    max_examples=examples(40),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=st.lists(DEFINITION, max_size=8))
# a jittered definition due before the earliest arrived one without jitter; one at ``now``
@example(drawn=[(True, -10, None), (True, -30, 5)])
@example(drawn=[(True, 0, 0), (True, 0, None), (True, 20, None)])
def test_the_alarm_is_the_earliest_due_time(
    engine: Engine, drawn: list[tuple[bool, int | None, int | None]]
) -> None:
    with session_scope(engine) as session:
        session.execute(delete(JobDefinition))
    org, user = org_and_user(engine, uuid.uuid4().hex)
    for number, (enabled, seconds, jitter) in enumerate(drawn):
        next_time = None if seconds is None else NOW + timedelta(seconds=seconds)
        add_definition(
            engine,
            org,
            user,
            name=f"d{number}",
            enabled=enabled,
            schedule=EVERY_MINUTE,
            next_scheduled_run_time=next_time,
            next_due_at=None
            if next_time is None or jitter is None
            else next_time + timedelta(seconds=jitter),
        )
    with session_scope(engine, deferred=True) as session:
        assert next_due_time(session, NOW) == expected(drawn)
