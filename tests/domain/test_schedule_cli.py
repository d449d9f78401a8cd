"""``scorecast schedule next|describe`` through the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

DATAROBOT_EXAMPLE = json.dumps(
    {"minute": [0], "hour": [16], "dayOfMonth": [1], "month": ["*"], "dayOfWeek": [1]}
)


def scorecast_command() -> list[str]:
    return [sys.executable, "-m", "scorecast"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*scorecast_command(), "schedule", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


def test_next_prints_iso_utc_fires_one_per_line() -> None:
    result = run("next", DATAROBOT_EXAMPLE, "--after", "2026-11-25T00:00:00Z", "--count", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2026-11-30T16:00:00Z\n2026-12-01T16:00:00Z\n2026-12-07T16:00:00Z\n"
    assert result.stderr == ""


def test_next_defaults_to_ten_fires_after_now() -> None:
    before = datetime.now(UTC)
    result = run("next", DATAROBOT_EXAMPLE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 10
    fires = [datetime.fromisoformat(line) for line in lines]
    assert fires == sorted(fires)
    assert fires[0] > before


def test_next_in_a_zone_and_from_stdin() -> None:
    payload = json.dumps(
        {
            "minute": [30],
            "hour": [1],
            "day_of_month": ["*"],
            "month": ["oct"],
            "day_of_week": ["*"],
            "timezone": "Europe/London",
            "dst_overlap_policy": "both",
        }
    )
    result = run("next", "-", "--after", "2026-10-24T12:00:00", "--count", "3", stdin=payload)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "2026-10-25T00:30:00Z",
        "2026-10-25T01:30:00Z",
        "2026-10-26T01:30:00Z",
    ]


def test_never_firing_schedule_prints_nothing_and_says_why() -> None:
    payload = json.dumps(
        {"minute": [0], "hour": [0], "dayOfMonth": [30, 31], "month": ["feb"], "dayOfWeek": ["*"]}
    )
    result = run("next", payload)
    assert result.returncode == 0
    assert result.stdout == ""
    assert "never fires" in result.stderr
    assert "February" in result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("next", '{"minute": [60], "hour": [0], "dayOfMonth": ["*"], "month": ["*"]}'), "minute"),
        (("next", '{"minute": [0], "hour": "5"}'), "hour"),
        (("describe", '{"minute": [0]}'), "dayOfWeek"),
        (("next", "{not json"), "JSON"),
        (("next", DATAROBOT_EXAMPLE, "--after", "yesterday"), "--after"),
        (("next", DATAROBOT_EXAMPLE, "--count", "-1"), "--count"),
    ],
)
def test_bad_input_is_one_line_on_stderr_without_traceback(
    args: tuple[str, ...], named: str
) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_deeply_nested_payload_is_one_line_without_traceback() -> None:
    result = run("next", "-", stdin="[" * 100_000)
    assert result.returncode == 2
    assert "nested too deeply" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_describe_prints_text_and_warnings() -> None:
    result = run("describe", DATAROBOT_EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "At 16:00 UTC on day 1 of every month and on every Monday\n"
    payload = json.dumps(
        {"minute": [0], "hour": [0], "dayOfMonth": [31], "month": ["*"], "dayOfWeek": ["*"]}
    )
    lines = run("describe", payload).stdout.splitlines()
    assert lines[0] == "At 00:00 UTC on day 31 of every month"
    assert lines[1].startswith("warning: February, April, June, September and November never match")
