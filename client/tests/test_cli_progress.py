"""The progress line of the client commands, from the server's figures (pure)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from scorecast_client.cli._progress import describe, format_seconds

UNITS = re.compile(r"^(\d+ s|\d+ min \d\d s|\d+ h \d\d min)$")


@given(st.floats(min_value=0, max_value=10**7, allow_nan=False))
def test_durations_read_in_one_unit_pair(seconds: float) -> None:
    text = format_seconds(seconds)
    assert UNITS.match(text), text
    parts = [int(n) for n in re.findall(r"\d+", text)]
    if text.endswith(" s") and "min" not in text:
        assert parts[0] < 60
    else:
        assert parts[1] < 60


JOBS = st.fixed_dictionaries(
    {
        "id": st.just("j"),
        "status": st.sampled_from(["INITIALIZING", "RUNNING", "COMPLETED", "ABORTED", "FAILED"]),
        "percentageCompleted": st.floats(min_value=0, max_value=100, allow_nan=False),
        "scoredRows": st.integers(min_value=0, max_value=10**9),
        "failedRows": st.integers(min_value=0, max_value=10**6),
        "rowsPerSecond": st.none() | st.floats(min_value=0, max_value=10**7, allow_nan=False),
        "etaSeconds": st.none() | st.floats(min_value=0, max_value=10**6, allow_nan=False),
    }
)


@given(JOBS)
def test_the_line_shows_every_figure_the_server_sent(job: dict[str, Any]) -> None:
    line = describe(job)  # type: ignore[arg-type]
    running = job["status"] == "RUNNING"
    assert line.startswith(f"{job['status']} {job['percentageCompleted']:.0f}%")
    assert f"{job['scoredRows']:,} rows scored, {job['failedRows']:,} failed" in line
    assert ("rows/s" in line) is (job["rowsPerSecond"] is not None and running)
    assert ("ETA" in line) is (job["etaSeconds"] is not None and running)


def test_missing_figures_count_as_zero() -> None:
    assert describe({"id": "j", "status": "INITIALIZING"}) == (  # type: ignore[typeddict-item]
        "INITIALIZING 0%, 0 rows scored, 0 failed"
    )
