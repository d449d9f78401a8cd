"""The console never shows the keys a spec stored before the spec gate may hold: the job and
definition pages drop ``predictionInstance.apiKey`` and ``datarobotKey`` as the API does."""

from __future__ import annotations

from console_client import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Console,
    console_fixture,
    console_settings_fixture,
    started_job,
)

from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition

KEYS = {"hostName": "pred.example.com", "apiKey": "API-KEY-123", "datarobotKey": "DR-KEY-456"}


def test_the_job_and_definition_pages_drop_the_prediction_instance_keys(
    console: Console,
) -> None:
    alice = console.signed_in()
    job_id = started_job(alice, console.definition_id)
    with session_scope(console.server.engine) as session:  # as stored before the gate
        job = session.get(Job, job_id)
        definition = session.get(JobDefinition, console.definition_id)
        assert job is not None and definition is not None
        job.spec = {**job.spec, "predictionInstance": KEYS}
        definition.job_spec = {**definition.job_spec, "predictionInstance": KEYS}
    for path in (f"/jobs/{job_id}", f"/definitions/{console.definition_id}"):
        page = alice.get(path)
        assert page.status_code == 200
        assert "pred.example.com" in page.text, path  # the rest of it is still shown
        assert "API-KEY-123" not in page.text and "DR-KEY-456" not in page.text, path
        assert "predictionInstance.apiKey" not in page.text, path
