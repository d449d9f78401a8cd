"""The firing decision for one definition (pure): which due fire times run, queue, are skipped or
missed, and the definition's next fire time. The store only records what ``plan_fires`` says.

``plan_fires(state, now, alive_since)`` follows these rules (the property tests check them):

1. **Due times**: the schedule's fire times ``T`` from ``state.next_time`` on with
   ``T + state.jitter <= now``, oldest first (``jitter`` is the definition's deterministic
   offset, ``jitter_offset``; the recorded ``scheduledTime`` stays the nominal ``T``). The plan's
   ``next_time`` is the first fire time after the last due one (``None``: the schedule ends).
2. **Covered or down**: ``T`` is *covered* when ``alive_since <= T + jitter`` (when the fire
   fell due): some scheduler ran without a gap from then until ``now``, so the fire is late
   only because schedulers were busy;
   it runs however late, and its lateness is recorded. Only an uncovered time (no scheduler ran
   at some point between ``T`` and ``now``) can be missed.
3. **Catch-up** (uncovered times): those due less than ``catch_up.window_seconds`` ago
   (``now - (T + jitter)``) are eligible;
   the most recent ``catch_up.max_runs`` eligible ones run (oldest first); every other uncovered
   time is missed, with the reason (outside the window, or beyond ``maxRuns``).
4. **Overlap** (every time that runs, in order): the active runs are the definition's waiting
   and running jobs plus the runs this plan creates (they wait).
   ``skip``: none active → started, else skipped. ``queue``: none active → started, one →
   queued (it waits behind it), more → skipped ("queue full"). ``cancelRunning``: started, and
   every active run is cancelled. ``allow``: started.
5. **Bounded rows**: the most recent ``MAX_RECORDED_MISSES`` missed times get a row each; older
   ones are summed up in one ``MissedSummary``. A walk longer than ``MAX_WALK`` due times jumps
   to the last day before ``now`` and the summary's count becomes a lower bound.

The decision for a batch is the decision for each of its definitions (``plan_batch``): a
definition's plan depends on its own state only, so any batch split gives the same fires.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from scorecast.domain.definition_policies import CatchUp, OverlapPolicy
from scorecast.domain.schedule.fires import next_fire_after
from scorecast.domain.schedule.outcomes import FireOutcome
from scorecast.domain.schedule.payload import Schedule

#: Missed times recorded one row each; older ones are summed up in one row.
MAX_RECORDED_MISSES: Final = 100
#: Due times walked one by one before jumping to the last day before ``now``.
MAX_WALK: Final = 100_000
_RESUME_SPAN: Final = timedelta(days=1)


class Why(StrEnum):
    """Why a time was not run (the service words it, with ids and times)."""

    OUTSIDE_WINDOW = "outside the catch-up window"  #: missed: too old after a downtime
    BEYOND_MAX_RUNS = "beyond maxRuns"  #: missed: a more recent missed time ran instead
    PREVIOUS_ACTIVE = "the previous run was active"  #: skipped by ``skip``
    QUEUE_FULL = "queue full"  #: skipped by ``queue``: one run already waits


@dataclass(frozen=True)
class ActiveRun:
    """A job of the definition that is waiting (``INITIALIZING``) or ``RUNNING``."""

    job_id: str
    status: str


@dataclass(frozen=True)
class FireState:
    """What the decision needs to know about one due definition."""

    definition_id: str
    schedule: Schedule
    next_time: datetime  #: the first fire time not handled yet (``nextScheduledRunTime``)
    overlap: OverlapPolicy = OverlapPolicy.SKIP
    catch_up: CatchUp = field(default_factory=CatchUp)
    active: tuple[ActiveRun, ...] = ()
    jitter: timedelta = timedelta(0)


@dataclass(frozen=True)
class PlannedFire:
    """The decision for one scheduled time."""

    scheduled_time: datetime
    outcome: FireOutcome
    #: ``now`` minus the time the fire was due (scheduled time plus jitter)
    lateness: timedelta
    #: uncovered: no scheduler ran at some point between the time and ``now``
    down: bool = False
    why: Why | None = None
    #: skipped: the active run it gave way to (a job id, or the time of a run of this plan)
    blocked_by: ActiveRun | datetime | None = None
    #: cancelRunning: the job ids, and the times of this plan's runs, whose runs are cancelled
    cancels_jobs: tuple[str, ...] = ()
    cancels_times: tuple[datetime, ...] = ()

    @property
    def runs(self) -> bool:
        return self.outcome in (FireOutcome.STARTED, FireOutcome.QUEUED)


@dataclass(frozen=True)
class MissedSummary:
    """Missed times older than the recorded ones, in one row: ``count`` from ``first`` to
    ``last`` (``at_least``: the walk jumped, the count is a lower bound)."""

    first: datetime
    last: datetime
    count: int
    at_least: bool = False


@dataclass(frozen=True)
class FiringPlan:
    """The decision for one definition: its fires in time order and its next fire time."""

    definition_id: str
    fires: tuple[PlannedFire, ...]
    summary: MissedSummary | None
    next_time: datetime | None


def jitter_offset(definition_id: str, jitter_seconds: int) -> timedelta:
    """The definition's fire offset in ``[0, jitter_seconds)`` whole seconds, derived from its
    id (the same for every fire, every scheduler and every restart)."""
    if jitter_seconds <= 0:
        return timedelta(0)
    digest = hashlib.blake2b(definition_id.encode(), digest_size=8).digest()
    return timedelta(seconds=int.from_bytes(digest, "big") % jitter_seconds)


def jittered(
    definition_id: str, next_time: datetime | None, jitter_seconds: int
) -> datetime | None:
    """When the fire at ``next_time`` is due: ``next_time`` plus the definition's jitter offset;
    None when there is no next time or no jitter (the fire is due at ``next_time``)."""
    if next_time is None or jitter_seconds <= 0:
        return None
    return next_time + jitter_offset(definition_id, jitter_seconds)


def plan_batch(
    states: Sequence[FireState], now: datetime, alive_since: datetime | None
) -> list[FiringPlan]:
    """The plan of each definition of a batch, in the batch's order."""
    return [plan_fires(state, now, alive_since) for state in states]


def plan_fires(state: FireState, now: datetime, alive_since: datetime | None) -> FiringPlan:
    """The decision for one definition (see the module docstring)."""
    due, next_time, jumped = _due_times(state, now)
    covered = [alive_since is not None and alive_since <= moment + state.jitter for moment in due]
    runs = _catch_up_runs(state, now, due, covered)
    fires: list[PlannedFire] = []
    missed: list[PlannedFire] = []
    overlap = _Overlap(state)
    for moment, is_covered in zip(due, covered, strict=True):
        lateness = now - (moment + state.jitter)
        if moment in runs:
            fires.append(overlap.decide(moment, lateness, down=not is_covered))
            continue
        eligible = lateness < timedelta(seconds=state.catch_up.window_seconds)
        why = Why.BEYOND_MAX_RUNS if eligible else Why.OUTSIDE_WINDOW
        miss = PlannedFire(moment, FireOutcome.MISSED, lateness, down=True, why=why)
        missed.append(miss)
        fires.append(miss)
    summary = _summary(missed, jumped)
    if summary is not None:
        summed = {miss.scheduled_time for miss in missed[: len(missed) - MAX_RECORDED_MISSES]}
        fires = [f for f in fires if f.scheduled_time not in summed]
    return FiringPlan(state.definition_id, tuple(fires), summary, next_time)


def lone_start(plan: FiringPlan) -> PlannedFire | None:
    """The plan's one fire when the plan starts one job and does nothing else (the common
    case: no miss, no skip, no queue, nothing cancelled), else None."""
    if plan.summary is not None or len(plan.fires) != 1:
        return None
    fire = plan.fires[0]
    if fire.outcome is not FireOutcome.STARTED or fire.cancels_jobs or fire.cancels_times:
        return None
    return fire


def _due_times(state: FireState, now: datetime) -> tuple[list[datetime], datetime | None, int]:
    """The due times, the next fire time after them, and how many times a jump passed over
    (0 without a jump; at least 1 with one)."""
    due: list[datetime] = []
    jumped = 0
    moment: datetime | None = state.next_time
    while moment is not None and moment + state.jitter <= now:
        due.append(moment)
        if len(due) == MAX_WALK and not jumped:
            resume = next_fire_after(state.schedule, now - state.jitter - _RESUME_SPAN)
            if resume is not None and resume > moment:
                jumped = 1
                moment = resume
                continue
        moment = next_fire_after(state.schedule, moment)
    return due, moment, jumped


def _catch_up_runs(
    state: FireState, now: datetime, due: list[datetime], covered: list[bool]
) -> set[datetime]:
    window = timedelta(seconds=state.catch_up.window_seconds)
    eligible = [
        moment
        for moment, is_covered in zip(due, covered, strict=True)
        if not is_covered and now - (moment + state.jitter) < window
    ]
    chosen = eligible[max(len(eligible) - state.catch_up.max_runs, 0) :]
    return {m for m, is_covered in zip(due, covered, strict=True) if is_covered} | set(chosen)


def _summary(missed: list[PlannedFire], jumped: int) -> MissedSummary | None:
    older = missed[: max(len(missed) - MAX_RECORDED_MISSES, 0)]
    if not older:
        return None
    return MissedSummary(
        older[0].scheduled_time, older[-1].scheduled_time, len(older), at_least=bool(jumped)
    )


class _Overlap:
    """The overlap policy applied to the runs of one plan, in time order."""

    def __init__(self, state: FireState) -> None:
        self.policy = state.overlap
        self.active: list[ActiveRun | datetime] = list(state.active)

    def decide(self, moment: datetime, lateness: timedelta, *, down: bool) -> PlannedFire:
        outcome, why = self._outcome()
        if why is not None:
            blocker = self.active[-1]
            return PlannedFire(
                moment, FireOutcome.SKIPPED, lateness, down=down, why=why, blocked_by=blocker
            )
        cancels_jobs: tuple[str, ...] = ()
        cancels_times: tuple[datetime, ...] = ()
        if self.policy is OverlapPolicy.CANCEL_RUNNING:
            cancels_jobs = tuple(a.job_id for a in self.active if isinstance(a, ActiveRun))
            cancels_times = tuple(a for a in self.active if isinstance(a, datetime))
            self.active = []
        self.active.append(moment)
        return PlannedFire(
            moment,
            outcome,
            lateness,
            down=down,
            cancels_jobs=cancels_jobs,
            cancels_times=cancels_times,
        )

    def _outcome(self) -> tuple[FireOutcome, Why | None]:
        if not self.active or self.policy in (OverlapPolicy.ALLOW, OverlapPolicy.CANCEL_RUNNING):
            return FireOutcome.STARTED, None
        if self.policy is OverlapPolicy.QUEUE:
            if len(self.active) == 1:
                return FireOutcome.QUEUED, None
            return FireOutcome.SKIPPED, Why.QUEUE_FULL
        return FireOutcome.SKIPPED, Why.PREVIOUS_ACTIVE
