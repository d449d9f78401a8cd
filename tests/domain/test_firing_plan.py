"""The firing decision as a pure function: for any schedule, downtime and policy the times run,
queued, skipped and missed are exactly what the policies say, and splitting the work into
ticks or batches gives the same fires as doing it at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from scorecast.domain.definition_policies import CatchUp, OverlapPolicy
from scorecast.domain.schedule import next_fire_after, parse_schedule
from scorecast.domain.schedule.firing_plan import (
    MAX_RECORDED_MISSES,
    ActiveRun,
    FireState,
    FiringPlan,
    Why,
    jitter_offset,
    plan_batch,
    plan_fires,
)
from scorecast.domain.schedule.liveness import AliveSpan, alive_since
from scorecast.domain.schedule.outcomes import FireOutcome

BASE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EVERY = ["*"]
SCHEDULES = [
    {"minute": EVERY, "hour": EVERY},
    {"minute": [0, 10, 20, 30, 40, 50], "hour": EVERY},
    {"minute": [7], "hour": EVERY},
    {"minute": [0, 1, 2, 59], "hour": [3, 12]},
]


def schedule_of(fields: dict[str, Any]) -> Any:
    return parse_schedule({"dayOfMonth": EVERY, "month": EVERY, "dayOfWeek": EVERY, **fields})


@st.composite
def states(draw: st.DrawFn) -> FireState:
    schedule = schedule_of(draw(st.sampled_from(SCHEDULES)))
    first = next_fire_after(schedule, BASE + timedelta(minutes=draw(st.integers(0, 600))))
    assert first is not None
    active = tuple(
        ActiveRun(f"job{i}", draw(st.sampled_from(["INITIALIZING", "RUNNING"])))
        for i in range(draw(st.integers(0, 2)))
    )
    return FireState(
        definition_id=draw(st.text("abcdef0123456789", min_size=24, max_size=24)),
        schedule=schedule,
        next_time=first,
        overlap=draw(st.sampled_from(list(OverlapPolicy))),
        catch_up=CatchUp(draw(st.integers(0, 3 * 3600)), draw(st.integers(0, 4))),
        active=active,
        jitter=timedelta(seconds=draw(st.integers(0, 90))),
    )


def due_times(state: FireState, now: datetime) -> list[datetime]:
    times: list[datetime] = []
    moment: datetime | None = state.next_time
    while moment is not None and moment + state.jitter <= now:
        times.append(moment)
        moment = next_fire_after(state.schedule, moment)
    return times


def expected_runs(state: FireState, now: datetime, since: datetime | None) -> list[datetime]:
    """The times that run: every covered one, plus the latest maxRuns uncovered ones inside
    the catch-up window (written independently of the implementation)."""
    due = due_times(state, now)
    covered = [t for t in due if since is not None and since <= t + state.jitter]
    window = timedelta(seconds=state.catch_up.window_seconds)
    eligible = [t for t in due if t not in covered and now - (t + state.jitter) < window]
    chosen = eligible[len(eligible) - min(state.catch_up.max_runs, len(eligible)) :]
    return sorted(set(covered) | set(chosen))


def expected_overlap(policy: OverlapPolicy, active: int, runs: int) -> list[FireOutcome]:
    outcomes: list[FireOutcome] = []
    for _ in range(runs):
        if policy in (OverlapPolicy.ALLOW, OverlapPolicy.CANCEL_RUNNING) or active == 0:
            outcomes.append(FireOutcome.STARTED)
            active = 1 if policy is OverlapPolicy.CANCEL_RUNNING else active + 1
        elif policy is OverlapPolicy.QUEUE and active == 1:
            outcomes.append(FireOutcome.QUEUED)
            active += 1
        else:
            outcomes.append(FireOutcome.SKIPPED)
    return outcomes


def recorded(plan: FiringPlan) -> list[tuple[datetime, FireOutcome]]:
    return [(f.scheduled_time, f.outcome) for f in plan.fires]


downtimes = st.integers(0, 6 * 3600).map(lambda s: timedelta(seconds=s))
liveness = st.one_of(st.none(), st.integers(-3600, 6 * 3600))


@settings(max_examples=examples(300), deadline=None)
@given(states(), downtimes, liveness)
def test_the_policies_decide_every_due_time_exactly_once(
    state: FireState, downtime: timedelta, alive_offset: int | None
) -> None:
    now = state.next_time + downtime
    since = None if alive_offset is None else state.next_time + timedelta(seconds=alive_offset)
    plan = plan_fires(state, now, since)
    due = due_times(state, now)
    times = [f.scheduled_time for f in plan.fires]
    assert times == sorted(set(times))  # one decision per time, in order
    summed = plan.summary.count if plan.summary else 0
    assert len(times) + summed == len(due)
    if plan.summary is not None:
        assert plan.summary.first == due[0] and plan.summary.count == len(due) - len(times)
        assert plan.summary.last < times[0]
        assert [f.outcome for f in plan.fires].count(FireOutcome.MISSED) == MAX_RECORDED_MISSES
    runs = [f.scheduled_time for f in plan.fires if f.outcome is not FireOutcome.MISSED]
    assert runs == expected_runs(state, now, since)  # nothing both run and missed
    outcomes = [f.outcome for f in plan.fires if f.outcome is not FireOutcome.MISSED]
    assert outcomes == expected_overlap(state.overlap, len(state.active), len(runs))
    for fire in plan.fires:
        covered = since is not None and since <= fire.scheduled_time + state.jitter
        assert fire.down is not covered
        if fire.outcome is FireOutcome.MISSED:
            assert not covered and fire.why in (Why.OUTSIDE_WINDOW, Why.BEYOND_MAX_RUNS)
        assert fire.lateness == now - fire.scheduled_time - state.jitter >= timedelta(0)
    expected_next = next_fire_after(state.schedule, due[-1]) if due else state.next_time
    assert plan.next_time == expected_next
    assert plan.next_time is None or plan.next_time + state.jitter > now


@settings(max_examples=examples(200), deadline=None)
@given(states(), st.lists(st.integers(0, 3 * 3600), min_size=1, max_size=5))
def test_a_running_scheduler_fires_the_same_in_ticks_as_at_once(
    state: FireState, tick_seconds: list[int]
) -> None:
    """While a scheduler is alive throughout, ticking at any moments in between gives the
    same fires as one late tick (no run ends meanwhile: the runs a tick creates are waiting)."""
    since = state.next_time - timedelta(minutes=1)
    ticks = sorted(state.next_time + timedelta(seconds=s) for s in tick_seconds)
    at_once = plan_fires(state, ticks[-1], since)
    fires: list[tuple[datetime, FireOutcome]] = []
    current = state
    for index, tick in enumerate(ticks):
        plan = plan_fires(current, tick, since)
        fires += recorded(plan)
        if plan.next_time is None:
            break
        still_active = list(current.active)
        for fire in plan.fires:
            if fire.cancels_jobs or fire.cancels_times:
                still_active = []
            if fire.runs:
                still_active.append(ActiveRun(f"tick{index}-{fire.scheduled_time}", "INITIALIZING"))
        current = FireState(
            current.definition_id,
            current.schedule,
            plan.next_time,
            current.overlap,
            current.catch_up,
            tuple(still_active),
            current.jitter,
        )
    assert fires == recorded(at_once)
    assert all(outcome is not FireOutcome.MISSED for _, outcome in fires)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(states(), min_size=1, max_size=8), downtimes, liveness, st.integers(1, 8))
def test_any_batch_split_gives_the_same_fires(
    batch: list[FireState], downtime: timedelta, alive_offset: int | None, size: int
) -> None:
    now = max(s.next_time for s in batch) + downtime
    since = None if alive_offset is None else BASE + timedelta(seconds=alive_offset)
    whole = plan_batch(batch, now, since)
    split = [
        plan
        for start in range(0, len(batch), size)
        for plan in plan_batch(batch[start : start + size], now, since)
    ]
    assert split == whole == [plan_fires(state, now, since) for state in batch]


def test_cancel_running_cancels_the_active_jobs_and_the_runs_it_just_made() -> None:
    schedule = schedule_of(SCHEDULES[0])
    state = FireState(
        "d" * 24,
        schedule,
        BASE,
        OverlapPolicy.CANCEL_RUNNING,
        CatchUp(3600, 2),
        (ActiveRun("old", "RUNNING"),),
    )
    plan = plan_fires(state, BASE + timedelta(minutes=1, seconds=5), None)
    first, second = plan.fires
    assert (first.outcome, first.cancels_jobs, first.cancels_times) == (
        FireOutcome.STARTED,
        ("old",),
        (),
    )
    assert (second.outcome, second.cancels_jobs, second.cancels_times) == (
        FireOutcome.STARTED,
        (),
        (BASE,),
    )


def test_a_jittered_fire_is_covered_by_a_scheduler_running_when_it_fell_due() -> None:
    """The fire at 12:00 with a 30-minute offset falls due at 12:30; a scheduler running since
    12:01 reaches it 5 s late: it runs. It was judged by 12:00, as missed (no scheduler ran at
    12:00), and with a 60 s catch-up window as outside it."""
    state = FireState(
        definition_id="a" * 24,
        schedule=schedule_of({"minute": [0], "hour": EVERY}),
        next_time=BASE,
        catch_up=CatchUp(60, 0),
        jitter=timedelta(minutes=30),
    )
    now = BASE + timedelta(minutes=30, seconds=5)
    plan = plan_fires(state, now, BASE + timedelta(minutes=1))
    assert recorded(plan) == [(BASE, FireOutcome.STARTED)]
    assert plan.fires[0].lateness == timedelta(seconds=5) and not plan.fires[0].down
    down_then = plan_fires(state, now, BASE + timedelta(minutes=30, seconds=1))
    assert recorded(down_then) == [(BASE, FireOutcome.MISSED)]  # maxRuns 0: nothing catches up
    window = FireState(**{**state.__dict__, "catch_up": CatchUp(60, 1)})
    caught_up = plan_fires(window, now, BASE + timedelta(minutes=30, seconds=1))
    assert recorded(caught_up) == [(BASE, FireOutcome.STARTED)]  # due 5 s ago: in the window


def test_a_week_down_on_an_every_minute_schedule_is_a_bounded_number_of_rows() -> None:
    state = FireState("d" * 24, schedule_of(SCHEDULES[0]), BASE)
    plan = plan_fires(state, BASE + timedelta(days=7, seconds=30), None)
    assert len(plan.fires) == MAX_RECORDED_MISSES + 1
    assert plan.summary is not None and plan.summary.count == 7 * 24 * 60 - MAX_RECORDED_MISSES
    assert plan.fires[-1].outcome is FireOutcome.STARTED


@given(st.text(min_size=1, max_size=30), st.integers(1, 3600))
def test_the_jitter_offset_is_stable_and_inside_the_range(definition_id: str, jitter: int) -> None:
    offset = jitter_offset(definition_id, jitter)
    assert timedelta(0) <= offset < timedelta(seconds=jitter)
    assert offset == jitter_offset(definition_id, jitter)
    assert jitter_offset(definition_id, 0) == timedelta(0)


spans = st.lists(
    st.tuples(st.integers(0, 1000), st.integers(0, 300)).map(
        lambda p: AliveSpan(BASE + timedelta(seconds=p[0]), BASE + timedelta(seconds=p[0] + p[1]))
    ),
    max_size=6,
)


@given(spans, st.integers(0, 1400), st.integers(0, 60))
def test_alive_since_is_the_start_of_the_covered_stretch_up_to_now(
    alive: list[AliveSpan], now_offset: int, grace_seconds: int
) -> None:
    """Checked second by second against the definition: every second from the answer to now
    is within ``grace`` of some span, and the second before it is not."""
    now = BASE + timedelta(seconds=now_offset)
    grace = timedelta(seconds=grace_seconds)

    def near(moment: datetime) -> bool:
        return any(s.since <= moment <= s.last_seen + grace for s in alive)

    def covered_from(moment: datetime) -> bool:
        second = moment
        while second <= now:
            if not near(second):
                return False
            second += timedelta(seconds=1)
        return True

    starts = sorted({s.since for s in alive if s.since <= now})
    expected = next((start for start in starts if covered_from(start)), None)
    assert alive_since(alive, now, grace) == expected
