"""The notices at the top of a page are the server's: an action's redirect carries its message
signed for the session (``web/flash.py``); a text put in a link by anyone else is never shown."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx
from console_client import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Console,
    console_fixture,
    console_settings_fixture,
    csrf_in,
)

PHISH = "Your token was revoked. Email a new one to it@evil.example"


def _landing(client: httpx.Client, answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    return client.get(answer.headers["location"]).text


def test_a_text_from_the_link_is_never_shown(console: Console) -> None:
    alice = console.signed_in()
    anonymous = console.client()
    for client, path in ((anonymous, "/login"), (alice, "/"), (alice, "/definitions")):
        for kind in ("message", "error"):
            page = client.get(path, params={kind: PHISH})
            assert page.status_code == 200
            assert "evil.example" not in page.text, (path, kind)


def test_the_actions_messages_are_shown_to_their_session_only(console: Console) -> None:
    alice = console.signed_in()
    csrf = csrf_in(alice.get("/").text)
    definition = f"/definitions/{console.definition_id}"
    enabled = alice.post(f"{definition}/enabled", data={"csrf": csrf, "enabled": "true"})
    page = _landing(alice, enabled)
    assert '<p class="notice" role="status">Enabled.</p>' in page
    refused = alice.post(f"{definition}/delete", data={"csrf": csrf})
    assert "error=" in refused.headers["location"]
    page = _landing(alice, refused)
    assert '<p class="notice error" role="alert">Tick the box to confirm.</p>' in page
    started = alice.post(f"{definition}/run", data={"csrf": csrf})
    assert "Job started." in _landing(alice, started)
    # the same link in another session (bob's; alice signed in again) shows nothing
    link = refused.headers["location"]
    for other in (console.client(console.server.token_for("org-b", "bob")), console.signed_in()):
        assert "Tick the box" not in other.get(link).text
    # nor does another text under a genuine signature
    signature = parse_qs(urlsplit(link).query)["error"][0].partition(".")[2]
    payload = base64.urlsafe_b64encode(PHISH.encode()).decode().rstrip("=")
    page = alice.get(definition, params={"error": f"{payload}.{signature}"}).text
    assert "notice error" not in page and "evil.example" not in page
