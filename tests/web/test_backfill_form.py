"""The console's backfill form (pure): wall-clock times in the definition's zone become UTC
moments, problems are keyed by form field, and the service's errors land on the same fields."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scorecast.errors import InvalidInput
from scorecast.web.backfill_form import default_form, field_errors, request_from_form

PARIS = ZoneInfo("Europe/Paris")
RANGE = {"start": "2026-03-26T00:00", "end": "2026-04-01T00:00", "maxConcurrent": "2"}


def test_wall_clock_times_are_read_in_the_zone() -> None:
    wanted = request_from_form(RANGE | {"rerun": "true"}, PARIS)
    assert wanted.start == datetime(2026, 3, 25, 23, tzinfo=UTC)  # CET: UTC+1
    assert wanted.end == datetime(2026, 3, 31, 22, tzinfo=UTC)  # CEST: UTC+2
    assert (wanted.max_concurrent, wanted.rerun) == (2, True)
    assert request_from_form(RANGE, PARIS).rerun is False


def test_a_typed_offset_is_taken_as_written_and_seconds_are_accepted() -> None:
    typed = RANGE | {"start": "2026-03-26T00:00:00Z", "end": "2026-03-27T00:00:30+02:00"}
    wanted = request_from_form(typed, PARIS)
    assert wanted.start == datetime(2026, 3, 26, tzinfo=UTC)
    assert wanted.end == datetime(2026, 3, 26, 22, 0, 30, tzinfo=UTC)


def test_a_time_the_clocks_skip_is_refused_and_a_repeated_one_is_the_first() -> None:
    with pytest.raises(InvalidInput) as caught:
        request_from_form(RANGE | {"start": "2026-03-29T02:30"}, PARIS)
    assert "does not exist in Europe/Paris" in caught.value.errors["start"]
    wanted = request_from_form(RANGE | {"start": "2026-10-25T02:30"}, PARIS)
    assert wanted.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # still CEST


@pytest.mark.parametrize(
    ("field", "typed", "problem"),
    [
        ("start", "", "is required"),
        ("end", "yesterday", "is not a date and time"),
        ("end", "0001-01-01T00:00", "between the years"),
        ("maxConcurrent", "two", "whole number"),
        ("maxConcurrent", "-1", "whole number"),
    ],
)
def test_problems_name_their_field(field: str, typed: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        request_from_form(RANGE | {field: typed}, PARIS)
    assert problem in caught.value.errors[field]


def test_an_empty_max_concurrent_is_one() -> None:
    assert request_from_form(RANGE | {"maxConcurrent": " "}, PARIS).max_concurrent == 1


def test_service_errors_land_on_the_form_fields() -> None:
    assert field_errors(InvalidInput.at("end", "must be later than start")) == {
        "end": "must be later than start"
    }
    other = InvalidInput.at("intakeSettings.type", "cannot be backfilled")
    assert field_errors(other) == {"form": "intakeSettings.type: cannot be backfilled"}
    assert field_errors(InvalidInput("no field")) == {"form": "no field"}


def test_the_empty_form_proposes_the_last_seven_days_in_the_zone() -> None:
    form = default_form(PARIS, datetime(2026, 7, 10, 23, 30, tzinfo=UTC))  # 11 July in Paris
    assert form.values["start"] == "2026-07-04T00:00"
    assert form.values["end"] == "2026-07-11T00:00"
    assert form.values["maxConcurrent"] == "1" and form.errors == {}


@pytest.mark.parametrize("typed", ["\u00b2", "\u0661", "\u0664", "1\u00b2"])
def test_max_concurrent_takes_only_ascii_digits(typed: str) -> None:
    """``str.isdigit`` takes a superscript two (which ``int`` refuses) and an Arabic-Indic
    one (which ``int`` reads as 1)."""
    with pytest.raises(InvalidInput) as caught:
        request_from_form(RANGE | {"maxConcurrent": typed}, PARIS)
    assert "whole number" in caught.value.errors["maxConcurrent"]
