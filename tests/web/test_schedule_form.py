"""The console's schedule editor form (pure): typed fields become DataRobot's payload, a
stored schedule reads back as the same typed fields, and problems are keyed by form field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.errors import InvalidInput
from scorecast.web.schedule_form import form_from_payload, payload_from_form

EVERY = {"minute": "*", "hour": "*", "dayOfMonth": "*", "month": "*", "dayOfWeek": "*"}


def test_lists_ranges_and_names_become_the_payload() -> None:
    typed = EVERY | {"minute": "0, 30", "hour": "1-3", "dayOfWeek": "mon,fri", "month": "jan"}
    payload, schedule = payload_from_form(typed | {"timezone": " Europe/Paris "})
    assert payload["minute"] == [0, 30] and payload["hour"] == [1, 2, 3]
    assert payload["dayOfWeek"] == ["mon", "fri"] and payload["month"] == ["jan"]
    assert payload["timezone"] == "Europe/Paris" and "dstGapPolicy" not in payload
    assert schedule.day_of_week == (1, 5) and schedule.month == (1,)


@pytest.mark.parametrize(
    ("field", "typed"),
    [("hour", "25"), ("minute", ""), ("minute", "1,,2"), ("dayOfMonth", "9-3"), ("month", "x")],
)
def test_problems_name_their_field(field: str, typed: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        payload_from_form(EVERY | {field: typed})
    assert set(caught.value.errors) == {field}


def test_an_unknown_zone_is_the_time_zone_fields_problem() -> None:
    with pytest.raises(InvalidInput) as caught:
        payload_from_form(EVERY | {"timezone": "Mars/Olympus"})
    assert set(caught.value.errors) == {"timezone"}


@given(
    st.lists(st.integers(0, 59), min_size=1, max_size=5, unique=True),
    st.lists(st.integers(0, 23), min_size=1, max_size=5, unique=True),
)
def test_a_stored_schedule_reads_back_as_itself(minutes: list[int], hours: list[int]) -> None:
    stored = {"minute": minutes, "hour": hours, "dayOfMonth": ["*"], "month": ["*"]}
    stored |= {"dayOfWeek": ["*"], "timezone": "UTC"}
    form = form_from_payload(stored)
    payload, _ = payload_from_form(form.values)
    assert payload == stored


def test_no_schedule_reads_as_every_minute() -> None:
    assert form_from_payload(None).values == EVERY | {
        "timezone": "",
        "dstGapPolicy": "",
        "dstOverlapPolicy": "",
    }


@pytest.mark.parametrize(
    "typed", ["\u00b2", "\u0661", "1\u00b2", "\u0660-\u0665", "1-\u0665", "\U0001d7d3"]
)
def test_only_ascii_digits_are_numbers(typed: str) -> None:
    """``str.isdigit`` takes a superscript two (which ``int`` refuses) and an Arabic-Indic
    one (which ``int`` reads as 1)."""
    with pytest.raises(InvalidInput) as caught:
        payload_from_form(EVERY | {"minute": typed})
    assert set(caught.value.errors) == {"minute"}
