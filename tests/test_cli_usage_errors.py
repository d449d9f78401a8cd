"""Numbers the command line and the settings refuse as the caller's mistake (exit 2): ``nan``
and ``inf`` pass every range check written as comparisons, so each number is checked for them.

(The real ``scorecast serve`` refusing them with one line is ``tests/test_cli.py``.)"""

from __future__ import annotations

import pytest
import typer

from scorecast.cli.serve import MAX_LEASE_SECONDS, _lease_seconds, _roles
from scorecast.config import Settings
from scorecast.errors import InvalidInput

#: every setting read as a number with a fraction (config.py: ``_seconds``, ``_amount``,
#: ``_optional_number``)
FLOAT_SETTINGS = [
    "SCORECAST_DEBRIS_SWEEP_SECONDS",
    "SCORECAST_JOB_PROCESS_MAX_RSS_MB",
    "SCORECAST_RETENTION_MAX_JOBS",
    "SCORECAST_RETENTION_MAX_AGE_DAYS",
    "SCORECAST_RETENTION_PRUNE_AFTER_DAYS",
    "SCORECAST_RETENTION_SWEEP_SECONDS",
    "SCORECAST_NOTIFICATION_TIMEOUT_SECONDS",
    "SCORECAST_NOTIFICATION_RETRY_SECONDS",
    "SCORECAST_NOTIFICATION_RETRY_MAX_DELAY_SECONDS",
    "SCORECAST_NOTIFICATION_RETRY_HOURS",
    "SCORECAST_NOTIFICATION_KEEP_DAYS",
]
NOT_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"]


@pytest.mark.parametrize("value", NOT_FINITE)
@pytest.mark.parametrize("name", FLOAT_SETTINGS)
def test_a_float_setting_refuses_a_number_that_is_not_finite(name: str, value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Settings.from_env({"SCORECAST_HOME": "/tmp/scorecast-usage-test", name: value})
    assert name in caught.value.message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_lease_seconds_refuses_a_number_that_is_not_finite(value: float) -> None:
    with pytest.raises(typer.BadParameter) as caught:
        _lease_seconds(value)
    assert caught.value.param_hint == "--lease-seconds"


def test_lease_seconds_takes_its_whole_range() -> None:
    assert _lease_seconds(1.0) == 1.0
    assert _lease_seconds(MAX_LEASE_SECONDS) == MAX_LEASE_SECONDS


def test_roles_without_any_left_are_a_usage_error() -> None:
    with pytest.raises(typer.BadParameter, match="no role"):
        _roles("scheduler", scheduler=False)
    assert _roles("api,scheduler", scheduler=False) == {"api"}
