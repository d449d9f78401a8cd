"""A Unicode digit typed into the schedule editor or the backfill form is that field's error
(never an HTTP 500, never read as another number)."""

from __future__ import annotations

from console_client import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Console,
    console_fixture,
    console_settings_fixture,
    csrf_in,
)

EVERY = {"minute": "*", "hour": "0", "dayOfMonth": "*", "month": "*", "dayOfWeek": "*"}
RANGE = {"start": "2026-11-01T00:00", "end": "2026-11-02T00:00"}


def test_a_superscript_digit_is_the_fields_error_in_every_form(console: Console) -> None:
    alice = console.signed_in()
    csrf = csrf_in(alice.get("/").text)
    definition = f"/definitions/{console.definition_id}"
    preview = alice.get("/schedules/preview", params=EVERY | {"minute": "²"})
    assert preview.status_code == 200 and preview.json()["valid"] is False
    assert set(preview.json()["errors"]) == {"minute"}
    saved = alice.post(f"{definition}/schedule", data=EVERY | {"minute": "²", "csrf": csrf})
    assert saved.status_code == 422 and "is not an integer 0-59" in saved.text
    typed = RANGE | {"maxConcurrent": "²"}
    json_preview = alice.get(f"{definition}/backfills/preview", params=typed)
    assert json_preview.status_code == 200 and "maxConcurrent" in json_preview.json()["errors"]
    for action in ("preview", ""):
        answer = alice.post(
            f"{definition}/backfills", data=typed | {"csrf": csrf, "action": action}
        )
        assert answer.status_code == 422 and "whole number" in answer.text, action
