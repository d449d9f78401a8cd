"""The console's job lists: the status filter matches the status the rows show (the stored
one, FAILED apart from ABORTED), and the overview says when it shows only the first jobs."""

from __future__ import annotations

import re

from console_client import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Console,
    console_fixture,
    console_settings_fixture,
    csrf_in,
    started_job,
)

from scorecast.service import jobs
from scorecast.service.accounts import authenticate_reading
from scorecast.store.db import session_scope
from scorecast.store.models import Job
from scorecast.store.types import utcnow

_SHOWN = re.compile(r'class="status status-\w+">(\w+)<')


def test_the_status_filter_finds_the_status_each_row_shows(console: Console) -> None:
    alice = console.signed_in()
    aborted, failed, waiting = (started_job(alice, console.definition_id) for _ in range(3))
    csrf = csrf_in(alice.get("/").text)
    assert alice.post(f"/jobs/{aborted}/abort", data={"csrf": csrf}).status_code == 303
    with session_scope(console.server.engine) as session:
        job = session.get(Job, failed)
        assert job is not None
        job.status, job.status_details = "FAILED", "intake file missing"
        job.started = job.finished = utcnow()
    for status, only in (("ABORTED", aborted), ("FAILED", failed), ("INITIALIZING", waiting)):
        page = alice.get("/jobs", params={"status": status})
        assert page.status_code == 200
        assert _SHOWN.findall(page.text) == [status], status
        assert f'href="/jobs/{only}"' in page.text and "1\u20131 of 1" in page.text, status
    everything = alice.get("/jobs").text
    assert sorted(_SHOWN.findall(everything)) == ["ABORTED", "FAILED", "INITIALIZING"]
    assert alice.get("/jobs", params={"status": "BOGUS"}).status_code == 422


def test_the_overview_names_how_many_jobs_wait_past_the_first_fifty(console: Console) -> None:
    alice = console.signed_in()
    started_job(alice, console.definition_id)
    assert "data-more=" not in alice.get("/").text  # every job shown: nothing to say
    caller = authenticate_reading(console.server.engine, console.server.token)
    with session_scope(console.server.engine) as session:
        for _ in range(52):
            jobs.job_from_definition(session, caller, console.definition_id)
    waiting = alice.get("/").text.split('id="waiting-h"')[1].split("</section>")[0]
    assert waiting.count('<td><a href="/jobs/') == 50
    assert "The first 50 of 53 waiting jobs" in waiting
    assert 'href="/jobs?status=INITIALIZING"' in waiting
    listed = alice.get("/jobs", params={"status": "INITIALIZING"}).text
    assert "1\u201350 of 53" in listed
