"""Shared set-up of the notification tests: settings that let deliveries reach receivers on
this machine, and the caller that owns the channels.

The fixture ``notify_settings`` is defined as ``notify_settings_fixture``: the test modules
that use it import it (``# noqa: F401``)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rows import org_and_user
from sqlalchemy import Engine

from scorecast.config import NotificationSettings, Settings
from scorecast.service.caller import Caller


@pytest.fixture(name="notify_settings")
def notify_settings_fixture(settings: Settings) -> Settings:
    """Receivers on loopback allowed; 30 s a timeout, 60 s before a retry."""
    return replace(
        settings,
        allow_private_endpoints=True,
        notifications=NotificationSettings(timeout_seconds=30.0, retry_seconds=60.0),
    )


def admin_caller(engine: Engine) -> Caller:
    """A new organization's admin."""
    org, user = org_and_user(engine)
    return Caller(org_id=org, user_id=user, username="admin")
