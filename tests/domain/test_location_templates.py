"""Location placeholders (pure): every name has a value on every run, times are safe in file
names and object keys by default, a format gives other layouts, anything else is a problem."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.location_templates import (
    PLACEHOLDERS,
    TIME_DIRECTIVES,
    TIME_PLACEHOLDERS,
    TemplateError,
    known_placeholder_problems,
    render,
    render_known,
    run_values,
    template_problems,
    valid_placeholders,
)

_moments = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), UTC]),
)
_literals = st.text(
    alphabet=st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=12
)
_names = st.sampled_from(sorted(PLACEHOLDERS))
_runs = st.builds(
    run_values,
    job_id=st.text(alphabet="0123456789abcdef", min_size=24, max_size=24),
    attempt=st.integers(1, 9),
    created=_moments,
    scheduled=st.none() | _moments,
)
SAFE = re.compile(r"^\d{8}T\d{6}Z$")


@given(_runs)
def test_every_placeholder_has_a_value_on_every_kind_of_run(values: dict[str, str]) -> None:
    assert set(values) == set(PLACEHOLDERS)
    for name in PLACEHOLDERS:
        rendered = render(f"{{{name}}}", values)
        assert rendered and "{" not in rendered
        if name in TIME_PLACEHOLDERS:
            assert SAFE.match(rendered), rendered  # no colon, no +00:00


@given(st.lists(st.tuples(_literals, st.none() | _names), max_size=6), _runs)
def test_a_valid_template_fills_every_placeholder_and_keeps_the_text(
    pieces: list[tuple[str, str | None]], values: dict[str, str]
) -> None:
    template = "".join(text + (f"{{{name}}}" if name else "") for text, name in pieces)
    assert template_problems(template) == []
    expected = "".join(
        text + (render(f"{{{name}}}", values) if name else "") for text, name in pieces
    )
    assert render(template, values) == expected


@given(_literals)
def test_text_without_braces_is_unchanged_and_doubled_braces_are_literal(text: str) -> None:
    values = run_values("j", 1, datetime(2024, 1, 1, tzinfo=UTC), None)
    assert render(text, values) == text
    assert render("{{" + text + "}}", values) == "{" + text + "}"


@given(_moments, st.none() | _moments)
def test_scheduled_time_is_the_fire_time_else_the_creation_time(
    created: datetime, scheduled: datetime | None
) -> None:
    values = run_values("j", 1, created, scheduled)
    expected = (scheduled or created).astimezone(UTC)
    assert render("{scheduled_time:%Y-%m-%d %H:%M:%S}", values) == expected.strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    assert render("{created_time:%Y/%m/%d}", values) == created.astimezone(UTC).strftime("%Y/%m/%d")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10))
def test_an_unknown_placeholder_is_named_with_the_valid_ones(name: str) -> None:
    problems = template_problems(f"s3://b/scored_{{{name}}}.csv")
    if name in PLACEHOLDERS:
        assert problems == []
        return
    assert problems == [f"unknown placeholder {{{name}}}; valid: {valid_placeholders()}"]
    values = run_values("j", 1, datetime(2024, 1, 1, tzinfo=UTC), None)
    with pytest.raises(TemplateError, match=re.escape(f"{{{name}}}")):
        render(f"x{{{name}}}", values)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{}", "unknown placeholder {}"),
        ("{0}", "unknown placeholder {0}"),
        ("{a}{b}{a}", "unknown placeholders {a}, {b}"),
        ("{job_id!r}", "takes no !r conversion"),
        ("{attempt:03d}", "takes no format"),
        ("{scheduled_time:{job_id}}", "must not contain braces"),
        ("{scheduled_time", "expected '}'"),
        # not a time code: the C library wrote it as it is (files named %Q.csv)
        ("{scheduled_time:%Q}", "has '%Q', not a time code"),
        ("{created_time:%Y-%}", "has '%', not a time code"),
        ("scheduled_time}", "Single '}'"),
    ],
)
def test_each_kind_of_bad_template_is_a_problem(template: str, problem: str) -> None:
    problems = template_problems(template)
    assert any(problem in found for found in problems), problems


_sql_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40).filter(
    lambda text: not any("{" + name in text for name in PLACEHOLDERS)
)


@given(before=_sql_text, after=_sql_text, moment=_moments)
def test_sql_text_keeps_every_brace_but_the_known_placeholders(
    before: str, after: str, moment: datetime
) -> None:
    """A JDBC ``query`` is SQL: only the known placeholders are filled, and whatever else it
    holds (array literals ``'{a,b}'``, JSON, doubled braces) is left exactly as written."""
    values = run_values("a" * 24, 2, moment, moment)
    assert render_known(before, values) == before
    assert known_placeholder_problems(before) == []
    text = f"{before}'{{scheduled_time:%Y-%m-%d}}'{{job_id}}{after}"
    day = moment.astimezone(UTC).strftime("%Y-%m-%d")
    assert render_known(text, values) == f"{before}'{day}'{'a' * 24}{after}"


@given(
    st.lists(
        st.sampled_from(sorted(TIME_DIRECTIVES)).map(lambda code: "%" + code)
        | st.text(alphabet=st.characters(blacklist_characters="{}%", blacklist_categories=("Cs",))),
        max_size=6,
    ),
    _moments,
)
def test_a_format_of_time_codes_renders_no_percent_sign_of_its_own(
    pieces: list[str], moment: datetime
) -> None:
    """Any format made of known codes and plain text is accepted, and every code is replaced
    (only ``%%`` writes a ``%``), in locations and in SQL alike."""
    layout = "".join(pieces)
    template = f"{{scheduled_time:{layout}}}"
    assert template_problems(template) == []
    assert known_placeholder_problems(template) == []
    values = run_values("a" * 24, 1, moment, moment)
    assert render(template, values).count("%") == layout.count("%%")


def test_a_format_on_a_placeholder_that_takes_none_is_a_problem_in_sql_too() -> None:
    assert known_placeholder_problems("SELECT '{job_id:%Y}'") == [
        "placeholder {job_id} takes no format (only time placeholders do)"
    ]
    with pytest.raises(TemplateError):
        render_known("SELECT '{attempt:x}'", run_values("a" * 24, 1, datetime.now(UTC), None))


@contextmanager
def process_zone(key: str) -> Iterator[None]:
    """The server process's local time zone (``TZ``) set to ``key``, restored afterwards."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = key
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


# The codes the C library renders from the process's zone (%s is mktime of the fields), or
# from fields that name a zone (%z, %Z with a flag), with glibc's flags and widths.
_zone_codes = st.builds(
    lambda flag, width, code: f"%{flag}{width}{code}",
    st.sampled_from(["", "-", "_", "0", "^", "#"]),
    st.sampled_from(["", "1", "12", "15"]),
    st.sampled_from(["s", "z", "Z"]),
)
_any_moments = st.datetimes(
    min_value=datetime(1800, 1, 1),
    max_value=datetime(2300, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3, minutes=-30))]),
)


@given(
    st.lists(_zone_codes | st.sampled_from(["%Y%m%dT%H%M%S", "/", "%f"]), max_size=5),
    _any_moments,
    st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
)
def test_a_time_renders_the_same_whatever_the_servers_time_zone(
    pieces: list[str], moment: datetime, zone: str
) -> None:
    """``TZ=UTC`` is the oracle: there the C library's local time is UTC."""
    template = "{scheduled_time:" + "".join(pieces) + "}"
    values = run_values("a" * 24, 1, moment, moment)
    with process_zone("UTC"):
        expected = render(template, values)
    with process_zone(zone):
        assert render(template, values) == expected
        assert render_known(template, values) == expected


def test_epoch_seconds_are_the_utc_moments_own() -> None:
    # 26 March 2028 is a spring-forward day in Paris: its local fields repeat or go missing.
    moment = datetime(2028, 3, 26, 1, tzinfo=UTC)
    with process_zone("Europe/Paris"):
        for hours in range(-2, 3):
            slot = moment + timedelta(hours=hours)
            values = run_values("a" * 24, 1, slot, slot)
            assert render("{scheduled_time:%s}", values) == str(int(slot.timestamp()))
    before_1970 = run_values("a" * 24, 1, datetime(1969, 12, 31, 23, 59, 59, 500000), None)
    assert render("{created_time:%s}", before_1970) == "-1"


@pytest.mark.parametrize(
    ("layout", "rendered"), [("%z", "+0000"), ("%Z", "UTC"), ("%-z", "+0"), ("%#Z", "utc")]
)
def test_the_zone_of_a_time_is_utc_with_or_without_a_flag(layout: str, rendered: str) -> None:
    with process_zone("America/New_York"):
        values = run_values("a" * 24, 1, datetime(2024, 5, 4, 3, tzinfo=UTC), None)
        assert render(f"{{created_time:{layout}}}", values) == rendered
