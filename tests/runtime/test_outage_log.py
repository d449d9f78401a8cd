"""``OutageLog``: an outage costs a handful of log lines however long it lasts and however often
the loop retries; the first failure and the recovery are always logged."""

from __future__ import annotations

import itertools
import logging
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from scorecast.runtime.outage_log import OutageLog


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _outage_log(first: float = 10.0, most: float = 600.0) -> tuple[OutageLog, _Clock, _Lines]:
    logger = logging.getLogger(f"test.outage.{id(object())}")
    logger.propagate = False
    lines = _Lines()
    logger.handlers = [lines]
    logger.setLevel(logging.DEBUG)
    clock = _Clock()
    return (
        OutageLog(logger, "claiming jobs", clock=clock, first_summary=first, max_summary=most),
        clock,
        lines,
    )


@settings(deadline=None, max_examples=examples(60))
@given(
    pauses=st.lists(st.floats(0.01, 5.0), min_size=1, max_size=3000),
    first=st.floats(1.0, 30.0),
    most=st.floats(30.0, 900.0),
)
def test_an_outage_logs_few_lines_whatever_its_length(
    pauses: list[float], first: float, most: float
) -> None:
    outage, clock, lines = _outage_log(first, most)
    for pause in pauses:
        outage.failed(ConnectionError("connection refused\nsecond line"))
        clock.now += pause
    lasted = sum(pauses)
    summaries = len(lines.records) - 1
    # doubling waits up to ``most``, then one per ``most`` seconds
    bound = math.log2(max(most / first, 1.0)) + 2 + lasted / most
    assert summaries <= bound, (summaries, bound)
    assert lines.records[0].exc_info is not None  # the cause once, in full
    assert all(r.exc_info is None for r in lines.records[1:])
    assert all("second line" not in r.getMessage() for r in lines.records)
    outage.succeeded()
    assert "works again after" in lines.records[-1].getMessage()
    assert f"({len(pauses)} failed attempts)" in lines.records[-1].getMessage()


def test_summaries_come_at_growing_intervals_and_recovery_resets() -> None:
    outage, clock, lines = _outage_log(first=10.0, most=40.0)
    when: list[float] = []
    for _ in range(2000):  # every 0.1 s for 200 s
        count = len(lines.records)
        outage.failed(OSError("down"))
        if len(lines.records) > count:
            when.append(clock.now - 1000.0)
        clock.now += 0.1
    gaps = [round(b - a) for a, b in itertools.pairwise(when)]
    assert gaps[:3] == [10, 20, 40] and set(gaps[3:]) <= {40}
    assert "still failing after" in lines.records[1].getMessage()
    outage.succeeded()
    outage.succeeded()  # no outage: nothing more
    assert sum("works again" in r.getMessage() for r in lines.records) == 1
    outage.failed(OSError("down again"))
    assert lines.records[-1].exc_info is not None  # a new outage is told in full again
