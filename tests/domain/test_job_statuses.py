"""Stored statuses and what the wire shows: every unsuccessful end reads ABORTED (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.job_statuses import (
    STATUSES,
    TERMINAL_STATUSES,
    end_reason,
    stored_statuses,
    wire_status,
)

#: what the official client's ``wait_for_completion`` stops on without raising, or raises on
CLIENT_SUCCESS = "completed"
CLIENT_UNSUCCESSFUL_PREFIXES = ("abort", "error")


@given(st.sampled_from(STATUSES))
def test_every_end_stops_the_official_clients_wait(status: str) -> None:
    shown = wire_status(status).lower()
    ends_for_client = shown == CLIENT_SUCCESS or shown[:5] in CLIENT_UNSUCCESSFUL_PREFIXES
    assert ends_for_client == (status in TERMINAL_STATUSES)
    unsuccessful = status in TERMINAL_STATUSES and status != "COMPLETED"
    assert (shown[:5] in CLIENT_UNSUCCESSFUL_PREFIXES) == unsuccessful


@given(st.sampled_from(STATUSES))
def test_the_end_reason_tells_failures_from_aborts(status: str) -> None:
    reason = end_reason(status)
    assert (reason is None) == (status not in TERMINAL_STATUSES)
    if reason is not None:
        assert reason == status.lower()
    assert wire_status(status) in STATUSES


@given(st.lists(st.sampled_from(STATUSES), max_size=6))
def test_a_status_filter_finds_exactly_the_jobs_shown_with_it(filters: list[str]) -> None:
    """``status=X`` matches a job when the wire shows it X, or (``FAILED``, ours) it failed."""
    matched = stored_statuses(filters)
    for stored in STATUSES:
        shown = {wire_status(stored)} | ({"FAILED"} if stored == "FAILED" else set())
        assert (stored in matched) == bool(shown & set(filters))


def test_an_unknown_status_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="QUEUED"):
        stored_statuses(["QUEUED"])
