"""``domain.wire_time.rfc3339``: every moment written as RFC 3339 that reads back the same."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.wire_time import rfc3339

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
ZONES = st.builds(
    timezone, st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: timedelta(minutes=m))
)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES))
def test_any_moment_reads_back_the_same(moment: datetime) -> None:
    """Years before 1000 too: ``strftime("%Y")`` wrote the year 2 as ``2``."""
    written = rfc3339(moment)
    assert written is not None and RFC3339.fullmatch(written), written
    assert datetime.fromisoformat(written) == moment


def test_naive_means_utc_and_none_stays_none() -> None:
    assert rfc3339(datetime(2, 1, 1)) == "0002-01-01T00:00:00.000000Z"
    assert rfc3339(datetime(2024, 5, 4, 11, 20, 41, 691000, tzinfo=UTC)) == (
        "2024-05-04T11:20:41.691000Z"
    )
    assert rfc3339(None) is None
