"""Settings from the environment: a value that cannot be used is one message naming its
variable and what it should be."""

from __future__ import annotations

import pytest

from scorecast.config import Settings
from scorecast.errors import InvalidInput

BOOLEANS = [
    "SCORECAST_ALLOW_PRIVATE_ENDPOINTS",
    "SCORECAST_ALLOW_LOCAL_DATABASES",
    "SCORECAST_ALLOW_PICKLE_MODELS",
    "SCORECAST_METRICS_PUBLIC",
    "SCORECAST_SMTP_STARTTLS",
    "SCORECAST_RETENTION_KEEP_LAST_SUCCESSFUL",
]


def _settings(**env: str) -> Settings:
    return Settings.from_env({"SCORECAST_HOME": "/tmp/scorecast-config-test", **env})


def _flags(settings: Settings) -> list[bool]:
    return [
        settings.allow_private_endpoints,
        settings.allow_local_databases,
        settings.allow_pickle_models,
        settings.metrics_public,
        settings.smtp.starttls,
        settings.retention.keep_last_successful,
    ]


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("value", ["maybe", "2", "enabled", "tru"])
def test_a_boolean_that_is_neither_true_nor_false_is_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _settings(**{name: value})
    assert caught.value.message.startswith(f"{name} must be true or false")


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "Yes", "on", " On "])
def test_every_true_spelling_turns_a_boolean_on(value: str) -> None:
    assert _flags(_settings(**dict.fromkeys(BOOLEANS, value))) == [True] * len(BOOLEANS)


@pytest.mark.parametrize("value", ["0", "false", "False", "NO", "off"])
def test_every_false_spelling_turns_a_boolean_off(value: str) -> None:
    assert _flags(_settings(**dict.fromkeys(BOOLEANS, value))) == [False] * len(BOOLEANS)


def test_unset_or_empty_booleans_take_their_defaults() -> None:
    defaults = [False, False, False, False, False, True]
    assert _flags(_settings()) == defaults
    assert _flags(_settings(**dict.fromkeys(BOOLEANS, " "))) == defaults


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SCORECAST_SMTP_PORT", "abc", "whole number (a TCP port, 1 to 65535)"),
        ("SCORECAST_SMTP_PORT", "70000", "TCP port (1 to 65535)"),
        (
            "SCORECAST_NOTIFICATION_RETRY_HOURS",
            "x",
            "a number of hours (0 or more, at most a century)",
        ),
        (
            "SCORECAST_NOTIFICATION_KEEP_DAYS",
            "-1",
            "a number of days (0 or more, at most a century)",
        ),
        (
            "SCORECAST_NOTIFICATION_RETRY_SECONDS",
            "x",
            "a number of seconds (1 or more, at most a century)",
        ),
        (
            "SCORECAST_NOTIFICATION_RETRY_SECONDS",
            "0",
            "a number of seconds (1 or more, at most a century)",
        ),
        (
            "SCORECAST_NOTIFICATION_RETRY_SECONDS",
            "0.5",
            "a number of seconds (1 or more, at most a century)",
        ),
        (
            "SCORECAST_NOTIFICATION_RETRY_MAX_DELAY_SECONDS",
            "0",
            "seconds (1 or more, at most a century)",
        ),
        (
            "SCORECAST_NOTIFICATION_RETRY_MAX_DELAY_SECONDS",
            "nan",
            "seconds (1 or more, at most a century)",
        ),
        ("SCORECAST_MAX_BODY_BYTES", "x", "whole number (0 = no limit)"),
        # a wait beyond the platform's clock crashed the thread that used it
        ("SCORECAST_DEBRIS_SWEEP_SECONDS", "1e300", "seconds (0 or more, at most a century)"),
        ("SCORECAST_NOTIFICATION_RETRY_HOURS", "1e9", "hours (0 or more, at most a century)"),
        ("SCORECAST_RETENTION_MAX_AGE_DAYS", "1e300", "days (0 to 36525)"),
        ("SCORECAST_RETENTION_MAX_JOBS", "1e300", "jobs (0 to"),
    ],
)
def test_a_bad_number_names_its_unit(name: str, value: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _settings(**{name: value})
    assert caught.value.message.startswith(f"{name} must be")
    assert says in caught.value.message


def test_notification_retry_delays_of_a_second_or_more_are_taken() -> None:
    notifications = _settings(
        SCORECAST_NOTIFICATION_RETRY_SECONDS="1",
        SCORECAST_NOTIFICATION_RETRY_MAX_DELAY_SECONDS="1.5",
    ).notifications
    assert (notifications.retry_seconds, notifications.retry_max_delay_seconds) == (1.0, 1.5)


@pytest.mark.parametrize(
    "url", ["file://relative/x", "file://./x", "file://localhost", "file://host/x"]
)
def test_a_file_storage_url_must_name_an_absolute_local_folder(url: str) -> None:
    with pytest.raises(InvalidInput, match="SCORECAST_STORAGE_URL must name an absolute folder"):
        _settings(SCORECAST_STORAGE_URL=url)


@pytest.mark.parametrize("url", ["file:///srv/scorecast", "file://localhost/srv/scorecast"])
def test_an_absolute_file_storage_url_is_taken(url: str) -> None:
    assert _settings(SCORECAST_STORAGE_URL=url).storage_url == url


def test_ambient_cloud_endpoints_are_origins() -> None:
    settings = _settings(
        SCORECAST_AMBIENT_CLOUD_ENDPOINTS="https://MinIO.example:443/, http://10.0.0.5:9000/x"
    )
    assert settings.ambient_cloud_endpoints == ("https://minio.example", "http://10.0.0.5:9000")
    with pytest.raises(InvalidInput, match="SCORECAST_AMBIENT_CLOUD_ENDPOINTS"):
        _settings(SCORECAST_AMBIENT_CLOUD_ENDPOINTS="minio.example")
