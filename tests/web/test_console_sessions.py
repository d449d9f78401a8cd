"""Console sessions end where the docs say they do: signing out ends the session in the store
(a saved copy of the cookie is refused), a form's token of any text is a 403 (never a 500),
signing in again returns to the page with its filters, and a live progress stream stops when
the session ends."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
from console_client import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Console,
    console_fixture,
    console_settings_fixture,
    csrf_in,
    started_job,
)

from scorecast.service.accounts import revoke_tokens
from scorecast.store.db import session_scope
from scorecast.store.models import ConsoleSession, JobDefinition
from scorecast.web.session import COOKIE_NAME, LOGIN_COOKIE

DEADLINE = 120.0  # seconds: generous, for a loaded machine


def _next_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert location.path == "/login", answer.headers["location"]
    return parse_qs(location.query)["next"][0]


def test_signing_out_refuses_a_saved_copy_of_the_cookie(console: Console) -> None:
    alice = console.signed_in()
    saved = alice.cookies[COOKIE_NAME]
    enabled = _enabled(console)
    csrf = csrf_in(alice.get("/").text)
    assert alice.post("/logout", data={"csrf": csrf}).status_code == 303
    replay = httpx.Client(base_url=console.server.base_url, cookies={COOKIE_NAME: saved})
    with replay:
        assert _next_of(replay.get("/credentials")) == "/credentials"
        answer = replay.post(f"/definitions/{console.definition_id}/enabled", data={"csrf": csrf})
        assert _next_of(answer) == f"/definitions/{console.definition_id}"
    assert _enabled(console) == enabled  # the replayed form changed nothing
    with session_scope(console.server.engine) as session:
        assert session.query(ConsoleSession).count() == 0


def _enabled(console: Console) -> bool:
    with session_scope(console.server.engine) as session:
        definition = session.get(JobDefinition, console.definition_id)
        assert definition is not None
        return definition.enabled


def test_another_sign_in_stays_signed_in_and_expired_rows_go(console: Console) -> None:
    """Signing out ends that session only; each sign-in deletes the sessions that expired."""
    first, second = console.signed_in(), console.signed_in()
    assert first.post("/logout", data={"csrf": csrf_in(first.get("/").text)}).status_code == 303
    assert second.get("/credentials").status_code == 200
    with session_scope(console.server.engine) as session:
        assert session.query(ConsoleSession).count() == 1


def test_a_form_token_of_any_text_is_403_not_500(console: Console) -> None:
    alice = console.signed_in()
    for value in ("é", "\u2603" * 64, "x" * 64):
        assert alice.post("/logout", data={"csrf": value}).status_code == 403, value
        answer = alice.post(f"/definitions/{console.definition_id}/enabled", data={"csrf": value})
        assert answer.status_code == 403, value
    with httpx.Client(base_url=console.server.base_url) as anonymous:
        anonymous.get("/login")
        answer = anonymous.post("/login", data={"token": console.server.token, "csrf": "é"})
        assert answer.status_code == 403
        odd_cookie = {"Cookie": f"{LOGIN_COOKIE}=%C3%A9".encode()}
        answer = anonymous.post(
            "/login", data={"token": console.server.token, "csrf": "é"}, headers=odd_cookie
        )
        assert answer.status_code == 403
    assert alice.get("/credentials").status_code == 200  # still signed in


def test_signing_in_again_returns_to_the_page_with_its_filters(console: Console) -> None:
    with httpx.Client(base_url=console.server.base_url) as anonymous:
        assert _next_of(anonymous.get("/jobs?status=FAILED&offset=0")) == (
            "/jobs?status=FAILED&offset=0"
        )
        answer = anonymous.post(f"/definitions/{console.definition_id}/run", data={"csrf": "x"})
        assert _next_of(answer) == f"/definitions/{console.definition_id}"
        assert _next_of(anonymous.post("/credentials", data={"csrf": "x"})) == "/credentials"
        assert _next_of(anonymous.post("/logout", data={"csrf": "x"})) == "/"


def test_a_progress_stream_stops_when_the_token_is_revoked(console: Console) -> None:
    alice = console.signed_in()
    job_id = started_job(alice, console.definition_id)  # it waits: no worker runs
    events: list[str] = []
    first = threading.Event()
    ended = threading.Event()

    def listen() -> None:
        with alice.stream("GET", f"/jobs/{job_id}/events", timeout=DEADLINE) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(line)
                    first.set()
        ended.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert first.wait(DEADLINE), "no first event"
    with session_scope(console.server.engine) as session:
        assert revoke_tokens(session, "org-a", "alice") >= 1
    started = time.monotonic()
    assert ended.wait(DEADLINE), "the stream went on after the token was revoked"
    assert time.monotonic() - started < DEADLINE
    assert len(events) >= 1
