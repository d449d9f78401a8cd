"""The in-process runtime fixture: a job submitted over HTTP runs to completion (both stores)."""

from __future__ import annotations

from typing import Any

import httpx
from demo_jobs import score_demo


def test_a_job_runs_on_the_live_runtime(live_runtime: Any) -> None:
    headers = live_runtime.headers()
    with httpx.Client(base_url=live_runtime.url + "/", headers=headers, timeout=60) as http:
        state = score_demo(http)
        assert state["status"] == "COMPLETED", state
        assert state["scoredRows"] == 500
        body = http.get(state["links"]["download"]).text
    assert body.count("\n") == 501


def test_uploads_and_downloads_are_checked(live_server: Any) -> None:
    """Another organization's job is unknown; wrong kinds of upload are refused, naming why."""
    from rows import add_deployment

    from scorecast.store.db import session_scope
    from scorecast.store.models import Organization, User

    with session_scope(live_server.engine) as session:
        org = session.query(Organization).filter_by(name="org-a").one()
        user = session.query(User).filter_by(org_id=org.id).one()
        org_id, user_id = org.id, user.id
    deployment = add_deployment(live_server.engine, org_id, user_id)
    other = live_server.token_for("org-b", "bob")
    with (
        httpx.Client(base_url=live_server.url + "/", headers=live_server.headers()) as http,
        httpx.Client(base_url=live_server.url + "/", headers=live_server.headers(other)) as bob,
    ):
        spec = {
            "deploymentId": deployment,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
        }
        job = http.post("batchPredictions/", json=spec).json()
        upload = job["links"]["csvUpload"]
        assert bob.put(upload, content=b"a\n1\n").status_code == 404
        assert bob.get(job["links"]["self"] + "download/").status_code == 404
        assert http.get(job["links"]["self"] + "download/").status_code == 409  # not started
        empty = http.put(upload, content=b"")
        assert empty.status_code == 422 and empty.json()["errors"] == {"body": "is empty"}
        parts = http.put(upload + "part/0/", content=b"a\n1\n")
        assert parts.status_code == 422 and "multipart" in parts.json()["errors"]["intakeSettings"]
        finalize = http.post(upload + "finalizeMultipart/")
        assert finalize.status_code == 422
        assert http.delete(job["links"]["self"]).status_code == 202
        late = http.put(upload, content=b"a\n1\n")
        assert late.status_code == 409 and "ABORTED" in late.json()["message"]

        multipart = http.post(
            "batchPredictions/",
            json={**spec, "intakeSettings": {"type": "localFile", "multipart": True}},
        ).json()
        upload = multipart["links"]["csvUpload"]
        assert http.put(upload, content=b"a\n1\n").status_code == 422  # parts expected
        assert http.put(upload + "part/0/", content=b"age,visits\n1,2\n").status_code == 202
        assert http.put(upload + "part/1/", content=b"age,other\n3,4\n").status_code == 202
        mixed = http.post(upload + "finalizeMultipart/")
        assert mixed.status_code == 422 and "part 1" in mixed.json()["message"]
        assert http.put(upload + "part/1/", content=b"age,visits\n3,4\n").status_code == 202
        assert http.post(upload + "finalizeMultipart/").status_code == 202
        state = http.get(multipart["links"]["self"]).json()
        assert state["jobIntakeSize"] == len(b"age,visits\n1,2\n3,4\n")
