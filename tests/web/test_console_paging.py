"""The console's pager with a count that stops early, and the jobs list's day filter (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.errors import InvalidInput
from scorecast.web.present import Pager, day_range


@given(st.integers(0, 50_000), st.integers(0, 30_000))
def test_a_capped_count_always_offers_the_next_page(offset: int, matches: int) -> None:
    limit, cap = 50, max(10_000, offset + 50) + 1
    total = min(matches, cap)
    pager = Pager(offset, limit, total, {"status": "RUNNING"}, capped=total == cap)
    if pager.capped:
        assert pager.next == f"?status=RUNNING&offset={offset + limit}"
        assert pager.total_text == f"more than {cap - 1:,}"
    else:
        assert (pager.next is not None) == (offset + limit < matches)
        assert pager.total_text == f"{matches:,}"


def test_a_day_is_its_utc_midnights() -> None:
    assert day_range("created", "") == (None, None)
    start, end = day_range("created", "2026-12-05")
    assert (start, end) == (datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC))
    with pytest.raises(InvalidInput) as caught:
        day_range("created", "05/12/2026")
    assert set(caught.value.errors) == {"created"}
