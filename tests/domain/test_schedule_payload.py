"""Parsing and validating the schedule payload: spellings, names, normalization, every error."""

from __future__ import annotations

from typing import Any

import pytest

from scorecast.domain.schedule import (
    EVERY,
    DstGapPolicy,
    DstOverlapPolicy,
    Schedule,
    parse_schedule,
)
from scorecast.errors import InvalidInput


def payload(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "minute": [0],
        "hour": [16],
        "dayOfMonth": ["*"],
        "month": ["*"],
        "dayOfWeek": [1],
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def problem(data: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_schedule(data)
    return caught.value


def test_the_datarobot_example_parses_and_round_trips_to_the_wire() -> None:
    wire = {"minute": [0], "hour": [16], "dayOfMonth": [1], "month": ["*"], "dayOfWeek": [1]}
    schedule = parse_schedule(wire)
    assert schedule.day_of_month == (1,)
    assert schedule.month == EVERY
    assert schedule.to_wire() == wire
    assert list(schedule.to_wire()) == ["minute", "hour", "dayOfMonth", "month", "dayOfWeek"]


def test_python_spelling_equals_wire_spelling() -> None:
    python = {"minute": [5], "hour": ["*"], "day_of_month": [2], "month": [3], "day_of_week": [4]}
    wire = {"minute": [5], "hour": ["*"], "dayOfMonth": [2], "month": [3], "dayOfWeek": [4]}
    assert parse_schedule(python) == parse_schedule(wire)
    assert parse_schedule(python).to_wire() == wire


@pytest.mark.parametrize(
    ("name", "number"),
    [("jan", 1), ("JAN", 1), ("January", 1), ("october", 10), ("Oct", 10), ("DECEMBER", 12)],
)
def test_month_names_any_case_three_letters_or_full(name: str, number: int) -> None:
    assert parse_schedule(payload(month=[name])).month == (number,)


@pytest.mark.parametrize(
    ("name", "number"),
    [("sun", 0), ("Sun", 0), ("sunday", 0), ("Sunday", 0), ("SAT", 6), ("wednesday", 3)],
)
def test_weekday_names_with_sunday_zero(name: str, number: int) -> None:
    assert parse_schedule(payload(dayOfWeek=[name])).day_of_week == (number,)


def test_names_mix_with_numbers_and_duplicates_fold() -> None:
    schedule = parse_schedule(payload(month=["feb", 2, "February", 1], minute=[30, 0, 30]))
    assert schedule.month == (1, 2)
    assert schedule.minute == (0, 30)
    assert schedule.to_wire()["month"] == [1, 2]


def test_star_repeated_is_still_every() -> None:
    assert parse_schedule(payload(hour=["*", "*"])).hour == EVERY


def test_schedule_is_immutable_and_hashable() -> None:
    one = parse_schedule(payload(month=["jan"]))
    two = parse_schedule(payload(month=[1]))
    assert one == two
    assert hash(one) == hash(two)
    assert len({one, two}) == 1
    with pytest.raises(AttributeError):
        one.minute = (5,)  # type: ignore[misc]


def test_timezone_and_policies_in_both_spellings_appear_on_the_wire_only_when_set() -> None:
    plain = parse_schedule(payload())
    assert "timezone" not in plain.to_wire()
    assert plain.gap_policy is DstGapPolicy.SHIFT
    assert plain.overlap_policy is DstOverlapPolicy.FIRST
    wire = parse_schedule(
        payload(timezone="Europe/London", dstGapPolicy="skip", dstOverlapPolicy="BOTH")
    )
    python = parse_schedule(
        {
            **payload(),
            "timezone": "Europe/London",
            "dst_gap_policy": "skip",
            "dst_overlap_policy": "both",
        }
    )
    assert wire == python
    assert wire.to_wire() == {
        **payload(),
        "timezone": "Europe/London",
        "dstGapPolicy": "skip",
        "dstOverlapPolicy": "both",
    }
    assert parse_schedule(payload(timezone=None)).timezone is None


def test_a_schedule_built_directly_is_validated() -> None:
    with pytest.raises(InvalidInput):
        Schedule(minute=(60,), hour=EVERY, day_of_month=EVERY, month=EVERY, day_of_week=EVERY)


# One test per class of bad input; each checks the key is named in errors and in the message.
BAD_INPUTS = {
    "missing key": (payload(dayOfWeek=None), "dayOfWeek", "required"),
    "unknown key": (payload(seconds=[0]), "seconds", "unknown key"),
    "empty list": (payload(hour=[]), "hour", "empty"),
    "star mixed": (payload(minute=["*", 5]), "minute", '"*" cannot be combined'),
    "minute out of range": (payload(minute=[60]), "minute", "60 is out of range 0-59"),
    "hour out of range": (payload(hour=[24]), "hour", "24 is out of range 0-23"),
    "day of month zero": (payload(dayOfMonth=[0]), "dayOfMonth", "0 is out of range 1-31"),
    "month thirteen": (payload(month=[13]), "month", "13 is out of range 1-12"),
    "weekday seven": (payload(dayOfWeek=[7]), "dayOfWeek", "7 is out of range 0-6"),
    "negative": (payload(minute=[-1]), "minute", "-1 is out of range"),
    "unknown month name": (payload(month=["jna"]), "month", '"jna"'),
    "unknown weekday name": (payload(dayOfWeek=["funday"]), "dayOfWeek", '"funday"'),
    "name in a numeric field": (payload(hour=["noon"]), "hour", '"noon"'),
    "string instead of list": (payload(hour="5"), "hour", 'not "5"'),
    "star string instead of list": (payload(month="*"), "month", 'not "*"'),
    "number instead of list": (payload(minute=5), "minute", "not 5"),
    "float": (payload(minute=[1.5]), "minute", "1.5 is not an integer"),
    "integral float": (payload(minute=[5.0]), "minute", "5.0 is not an integer"),
    "bool": (payload(hour=[True]), "hour", "true is not an integer"),
    "null item": (payload(hour=[None]), "hour", "null is not an integer"),
    "unknown timezone": (payload(timezone="Mars/Olympus"), "timezone", '"Mars/Olympus"'),
    "timezone path escape": (payload(timezone="../../etc/passwd"), "timezone", "unknown"),
    "timezone not a string": (payload(timezone=5), "timezone", "5"),
    "bad gap policy": (payload(dstGapPolicy="later"), "dstGapPolicy", '"later"'),
    "bad overlap policy": (payload(dstOverlapPolicy=2), "dstOverlapPolicy", "2 is not one of"),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_names_the_key_and_the_value(case: str) -> None:
    data, key, text = BAD_INPUTS[case]
    error = problem(data)
    assert key in error.errors["schedule"]
    assert text in error.errors["schedule"][key]
    assert f"schedule.{key}" in error.message
    assert text in error.message


def test_python_spelling_is_named_in_the_message_and_wire_key_in_errors() -> None:
    error = problem({**payload(dayOfWeek=None), "day_of_week": [9]})
    assert error.errors == {"schedule": {"dayOfWeek": "9 is out of range 0-6"}}
    assert "schedule.day_of_week" in error.message


def test_both_spellings_of_one_key_are_rejected() -> None:
    error = problem({**payload(), "day_of_week": [1]})
    assert "given twice" in error.errors["schedule"]["dayOfWeek"]


def test_every_problem_is_reported_at_once() -> None:
    error = problem({"minute": [99], "hour": "x"})
    assert set(error.errors["schedule"]) == {"minute", "hour", "dayOfMonth", "month", "dayOfWeek"}


@pytest.mark.parametrize("data", [None, [], "minute", 5])
def test_payload_that_is_not_an_object(data: Any) -> None:
    error = problem(data)
    assert "schedule" in error.errors
    assert "must be an object" in error.message


def test_never_firing_schedule_is_accepted() -> None:
    schedule = parse_schedule(payload(dayOfMonth=[30, 31], month=["feb"], dayOfWeek=["*"]))
    assert schedule.never


def test_optional_keys_are_checked_even_when_a_field_is_missing() -> None:
    error = problem({**payload(minute=None), "timezone": "Nowhere/Land", "hour": [99]})
    assert set(error.errors["schedule"]) == {"minute", "hour", "timezone"}


def test_wire_form_passes_the_official_datarobot_client_converter() -> None:
    from datarobot.models.batch_prediction_job import BatchPredictionJobDefinition
    from datarobot.utils import from_api

    schedule = parse_schedule(
        payload(month=["jan", "Jul"], timezone="Europe/London", dstOverlapPolicy="both")
    )
    checked = BatchPredictionJobDefinition._schedule.check(from_api(schedule.to_wire()))
    assert checked["month"] == [1, 7]
    assert checked["day_of_week"] == [1]
    assert parse_schedule(checked) == schedule


def test_schedule_survives_pickling_with_its_zone() -> None:
    import pickle

    schedule = parse_schedule(payload(timezone="Australia/Lord_Howe", dstGapPolicy="skip"))
    copy = pickle.loads(pickle.dumps(schedule))
    assert copy == schedule
    assert copy.zone == schedule.zone
    assert copy.gap_policy is DstGapPolicy.SKIP
