"""``batchPredictions/`` over real HTTP, on SQLite and PostgreSQL: submit, read, list, abort,
run a definition, copy a job, organization isolation. No worker runs here: the RUNNING case
claims the job with the workers' own claim function.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    api_b_fixture,
    assert_json_error,
    deployment_a_fixture,
    seed_deployment,
    shared_api_a_fixture,
    shared_deployment_a_fixture,
)

from scorecast.store.db import session_scope
from scorecast.store.models import Credential, Job

JOBS = "batchPredictions/"
JOB_LINK = re.compile(r"^http://127\.0\.0\.1:\d+/api/v2/batchPredictions/([0-9a-f]{24})/$")


def local_spec(deployment_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "deploymentId": deployment_id,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
        **extra,
    }


def submit(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(JOBS, json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert response.headers["Location"] == job["links"]["self"]
    return job


def assert_client_valid(job: dict[str, Any]) -> None:
    """What ``datarobot`` 3.20's trafaret insists on (reference §5.1)."""
    assert job["status"] in {"INITIALIZING", "RUNNING", "COMPLETED", "ABORTED", "FAILED"}
    assert isinstance(job["percentageCompleted"], float)
    assert isinstance(job["elapsedTimeSec"], int)
    assert isinstance(job["statusDetails"], str) and job["statusDetails"].strip()
    match = JOB_LINK.match(job["links"]["self"])
    assert match and match.group(1) == job["id"]
    assert isinstance(job["jobSpec"]["numConcurrent"], int)
    assert job["links"].get("download", "x") != ""


def test_submit_answers_202_with_location_and_a_client_valid_job(
    api_a: Api, deployment_a: str
) -> None:
    response = api_a.post(JOBS, json=local_spec(deployment_a, passthroughColumns=["id"]))
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"].split("/")[-2] == job["id"]
    assert response.headers["content-type"] == "application/json"
    assert_client_valid(job)
    assert job["status"] == "INITIALIZING"
    assert job["queued"] is False  # waiting for its upload, not on the queue yet
    assert job["queuePosition"] is None
    assert job["percentageCompleted"] == 0.0 and job["elapsedTimeSec"] == 0
    assert job["links"]["csvUpload"] == job["links"]["self"] + "csvUpload/"
    assert "download" not in job["links"]
    assert job["createdBy"]["username"] == "alice"
    assert job["source"] == "api"
    assert job["jobSpec"]["passthroughColumns"] == ["id"]
    assert job["jobSpec"]["includeProbabilities"] is True
    assert any("alice" in line for line in job["logs"])
    fetched = api_a.get(job["links"]["self"])
    assert fetched.status_code == 200
    assert fetched.json()["id"] == job["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"numConcurrent": 0}, "numConcurrent"),
        ({"intakeSettings": None}, "intakeSettings"),
        ({"csvSettings": {"delimiter": "::"}}, "csvSettings"),
        ({"predictionThreshold": 7}, "predictionThreshold"),
        ({"intakeSettings": {"type": "carrierPigeon"}}, "intakeSettings"),
        ({"includeProbabilitiesClasses": ["maybe"]}, "includeProbabilitiesClasses"),
        ({"intakeSettings": {"type": "s3"}}, "intakeSettings"),
        ({"outputSettings": {"type": "snowflake", "table": "t"}}, "outputSettings"),
        ({"outputSettings": {"type": "localFile", "table": "t"}}, "outputSettings"),
    ],
)
def test_validation_errors_are_422_json_naming_the_field(
    shared_api_a: Api, shared_deployment_a: str, change: dict[str, Any], field: str
) -> None:
    body = {
        key: value
        for key, value in {**local_spec(shared_deployment_a), **change}.items()
        if value is not None
    }
    errors = assert_json_error(shared_api_a.post(JOBS, json=body), 422)["errors"]
    assert field in errors
    assert shared_api_a.get(JOBS).json()["totalCount"] == 0


def test_malformed_bodies_are_422(api_a: Api) -> None:
    broken = api_a.post(JOBS, content=b"{nope", headers={"Content-Type": "application/json"})
    assert_json_error(broken, 422)
    assert_json_error(api_a.post(JOBS, json=["deploymentId"]), 422)
    # valid JSON without the JSON content type: the answer says what to send
    plain = api_a.post(
        JOBS, content=b'{"deploymentId": "x"}', headers={"Content-Type": "text/plain"}
    )
    assert "Content-Type: application/json" in assert_json_error(plain, 422)["errors"]["body"]


def test_unknown_deployment_and_credential_ids_are_refused(
    api_a: Api, api_b: Api, deployment_a: str, live_server: Any
) -> None:
    unknown = assert_json_error(api_a.post(JOBS, json=local_spec("f" * 24)), 404)
    assert "deploymentId" in unknown["errors"]
    # another organization's deployment is unknown too
    other = assert_json_error(api_b.post(JOBS, json=local_spec(deployment_a)), 404)
    assert "deploymentId" in other["errors"]

    intake = {"type": "s3", "url": "s3://bucket/in.csv", "credentialId": "a" * 24}
    missing = assert_json_error(
        api_a.post(JOBS, json=local_spec(deployment_a, intakeSettings=intake)), 422
    )
    assert "credentialId" in missing["errors"]["intakeSettings"]

    with session_scope(live_server.engine) as session:  # org B's credential
        job_b = api_b.get(JOBS).json()
        assert job_b["totalCount"] == 0
        from scorecast.store.models import Organization, User

        org_b = session.query(Organization).filter_by(name="org-b").one()
        bob = session.query(User).filter_by(org_id=org_b.id).one()
        credential = Credential(
            org_id=org_b.id, name="b", credential_type="s3", secret=b"x", created_by=bob.id
        )
        session.add(credential)
        session.flush()
        credential_id = credential.id
    output = {"type": "s3", "url": "s3://bucket/out.csv", "credentialId": credential_id}
    foreign = api_a.post(JOBS, json=local_spec(deployment_a, outputSettings=output))
    assert "credentialId" in assert_json_error(foreign, 422)["errors"]["outputSettings"]

    # the organization's own credential, of a type the connector cannot use: refused now, not
    # when the job runs
    basic = api_a.post(
        "credentials/", json={"name": "db", "credentialType": "basic", "user": "u", "password": "p"}
    )
    assert basic.status_code == 201, basic.text
    wrong = {
        "type": "s3",
        "url": "s3://bucket/in.csv",
        "credentialId": basic.json()["credentialId"],
    }
    mismatched = assert_json_error(
        api_a.post(JOBS, json=local_spec(deployment_a, intakeSettings=wrong)), 422
    )
    problem = mismatched["errors"]["intakeSettings"]["credentialId"]
    assert "'basic'" in problem and "'s3'" in problem, problem


def test_get_unknown_job_is_404_json(api_a: Api) -> None:
    assert_json_error(api_a.get(f"{JOBS}{'0' * 24}/"), 404)


def test_list_filters_repeated_status_and_absolute_next_links(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    jobs = [submit(api_a, local_spec(deployment_a)) for _ in range(4)]
    assert api_a.delete(jobs[0]["links"]["self"]).status_code == 202
    assert api_a.delete(jobs[1]["links"]["self"]).status_code == 202

    aborted = api_a.get(JOBS, params={"status": "ABORTED"}).json()
    assert {job["id"] for job in aborted["data"]} == {jobs[0]["id"], jobs[1]["id"]}
    for job in aborted["data"]:
        assert_client_valid(job)

    both = api_a.get(JOBS, params=[("status", "ABORTED"), ("status", "INITIALIZING")]).json()
    assert both["totalCount"] == 4

    params = [("status", "ABORTED"), ("status", "INITIALIZING"), ("limit", "3")]
    first = api_a.get(JOBS, params=params).json()
    assert first["count"] == 3 and first["previous"] is None
    next_url = first["next"]
    assert next_url.startswith(live_server.url + "/" + JOBS)
    query = parse_qs(urlsplit(next_url).query)
    assert sorted(query["status"]) == ["ABORTED", "INITIALIZING"]
    assert query["limit"] == ["3"] and query["offset"] == ["3"]
    second = httpx.get(next_url, headers=live_server.headers()).json()
    assert second["count"] == 1 and second["next"] is None
    assert second["previous"] is not None
    ids = [job["id"] for job in first["data"] + second["data"]]
    assert sorted(ids) == sorted(job["id"] for job in jobs)
    assert ids == [job["id"] for job in reversed(jobs)]  # newest first

    oldest_first = api_a.get(JOBS, params={"orderBy": "created"}).json()
    assert [job["id"] for job in oldest_first["data"]] == [job["id"] for job in jobs]
    one = api_a.get(JOBS, params={"jobId": jobs[2]["id"]}).json()
    assert [job["id"] for job in one["data"]] == [jobs[2]["id"]]
    by_deployment = api_a.get(JOBS, params={"deploymentId": "1" * 24}).json()
    assert by_deployment["totalCount"] == 0
    by_type = api_a.get(JOBS, params={"intakeType": "localFile"}).json()
    assert by_type["totalCount"] == 4
    assert api_a.get(JOBS, params={"intakeType": "s3"}).json()["totalCount"] == 0
    future = datetime(2100, 1, 1, tzinfo=UTC).isoformat()
    assert api_a.get(JOBS, params={"startDateTime": future}).json()["totalCount"] == 0

    bad = api_a.get(JOBS, params={"status": "QUEUED"})
    assert "status" in assert_json_error(bad, 422)["errors"]
    # a misspelled kind matched nothing (or, excluded, everything) without a word
    for field, value in (
        ("source", "apii"),
        ("source", "-foo"),
        ("intakeType", "FILESYSTEM"),
        ("outputType", "localfile"),
    ):
        misspelled = api_a.get(JOBS, params={field: value})
        assert field in assert_json_error(misspelled, 422)["errors"], (field, value)
    assert api_a.get(JOBS, params={"source": "-api"}).status_code == 200
    assert api_a.get(JOBS, params={"intakeType": "snowflake"}).json()["totalCount"] == 0
    for unsupported in ("modelId", "hostname"):
        refused = api_a.get(JOBS, params={unsupported: "x"})
        assert unsupported in assert_json_error(refused, 422)["errors"]


def test_from_job_definition_reads_the_body_id_and_lists_by_definition(
    api_a: Api, deployment_a: str
) -> None:
    definition = api_a.post(
        "batchPredictionJobDefinitions/",
        json={"enabled": False, "name": "run me", **local_spec(deployment_a, numConcurrent=3)},
    ).json()
    submit(api_a, local_spec(deployment_a))  # not from the definition

    response = api_a.post(f"{JOBS}fromJobDefinition/", json={"jobDefinitionId": definition["id"]})
    assert response.status_code == 202, response.text
    job = response.json()
    assert_client_valid(job)
    assert response.headers["Location"] == job["links"]["self"]
    assert job["source"] == "manual"
    assert job["jobSpec"]["numConcurrent"] == 3
    assert job["batchPredictionJobDefinition"] == {"id": definition["id"], "name": "run me"}

    listed = api_a.get(JOBS, params={"batchPredictionJobDefinitionId": definition["id"]}).json()
    assert [item["id"] for item in listed["data"]] == [job["id"]]
    refreshed = api_a.get(f"batchPredictionJobDefinitions/{definition['id']}/").json()
    assert refreshed["lastStartedJobStatus"] == "INITIALIZING"
    assert refreshed["lastStartedJobTime"] == job["created"]
    assert refreshed["lastFailedRunTime"] is None
    assert api_a.delete(job["links"]["self"]).status_code == 202
    after_abort = api_a.get(f"batchPredictionJobDefinitions/{definition['id']}/").json()
    assert after_abort["lastStartedJobStatus"] == "ABORTED"
    assert after_abort["lastFailedRunTime"] is not None
    assert after_abort["lastSuccessfulRunTime"] is None

    missing = api_a.post(f"{JOBS}fromJobDefinition/", json={"jobDefinitionId": "0" * 24})
    assert "jobDefinitionId" in assert_json_error(missing, 404)["errors"]
    no_id = api_a.post(f"{JOBS}fromJobDefinition/", json={})
    assert "jobDefinitionId" in assert_json_error(no_id, 422)["errors"]


def test_from_existing_copies_the_spec_and_answers_a_location(
    api_a: Api, deployment_a: str
) -> None:
    original = submit(api_a, local_spec(deployment_a, passthroughColumnsSet="all", numConcurrent=2))
    response = api_a.post(f"{JOBS}fromExisting/", json={"predictionJobId": original["id"]})
    assert response.status_code == 202, response.text
    new_id = response.headers["Location"].split("/")[-2]
    assert new_id != original["id"]
    copy = api_a.get(f"{JOBS}{new_id}/").json()
    assert copy["jobSpec"] == original["jobSpec"]
    assert copy["status"] == "INITIALIZING"
    missing = api_a.post(f"{JOBS}fromExisting/", json={"predictionJobId": "0" * 24})
    assert_json_error(missing, 404)


def test_abort_a_waiting_job_at_once_and_refuse_a_finished_one(
    api_a: Api, deployment_a: str
) -> None:
    job = submit(api_a, local_spec(deployment_a))
    response = api_a.delete(job["links"]["self"])
    assert response.status_code == 202, response.text
    aborted = response.json()
    assert_client_valid(aborted)
    assert aborted["status"] == "ABORTED"
    assert aborted["queued"] is False
    assert "alice" in aborted["statusDetails"]
    assert aborted["logs"][0].startswith("Job created by alice")
    assert aborted["logs"][-1].startswith("Job aborted by alice")
    again = assert_json_error(api_a.delete(job["links"]["self"]), 409)
    assert "ABORTED" in again["message"]
    assert_json_error(api_a.delete(f"{JOBS}{'0' * 24}/"), 404)


def test_abort_a_running_job_asks_its_worker_to_stop(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    job = submit(api_a, local_spec(deployment_a))
    with session_scope(live_server.engine) as session:  # the upload has arrived; a worker claims
        row = session.get(Job, job["id"])
        assert row is not None
        row.intake_ready = True
    from scorecast.service.claims import claim_next_job

    with session_scope(live_server.engine, immediate=True) as session:
        claimed = claim_next_job(session, "worker-1", datetime.now(UTC), 60)
        assert claimed is not None and claimed.job_id == job["id"]
    running = api_a.get(job["links"]["self"]).json()
    assert running["status"] == "RUNNING"
    assert running["links"]["download"] == job["links"]["self"] + "download/"

    response = api_a.delete(job["links"]["self"])
    assert response.status_code == 202
    stopping = response.json()
    assert stopping["status"] == "RUNNING"  # the worker ends it ABORTED
    assert "Abort requested" in stopping["statusDetails"]
    with session_scope(live_server.engine) as session:
        row = session.get(Job, job["id"])
        assert row is not None and row.abort_requested is True
    assert api_a.delete(job["links"]["self"]).status_code == 202  # harmless twice


def test_queue_position_counts_the_ready_jobs_ahead_of_every_organization(
    api_a: Api, api_b: Api, deployment_a: str, live_server: Any
) -> None:
    deployment_b = seed_deployment(live_server, "org-b")
    first = submit(api_a, local_spec(deployment_a))
    second = submit(api_b, local_spec(deployment_b))
    third = submit(api_a, local_spec(deployment_a))
    assert api_a.get(third["links"]["self"]).json()["queuePosition"] is None
    with session_scope(live_server.engine) as session:  # their uploads have arrived
        for job in (first, second, third):
            row = session.get(Job, job["id"])
            assert row is not None
            row.intake_ready = True
    positions = [api_a.get(job["links"]["self"]).json()["queuePosition"] for job in (first, third)]
    assert positions == [0, 2]
    assert api_b.get(second["links"]["self"]).json()["queuePosition"] == 1
    api_a.delete(first["links"]["self"])
    assert api_a.get(third["links"]["self"]).json()["queuePosition"] == 1
    listed = api_a.get(JOBS, params={"status": "INITIALIZING"}).json()["data"]
    assert [job["queuePosition"] for job in listed] == [1]


def test_another_organization_cannot_see_run_or_abort_jobs(
    api_a: Api, api_b: Api, deployment_a: str
) -> None:
    job = submit(api_a, local_spec(deployment_a))
    assert_json_error(api_b.get(job["links"]["self"]), 404)
    assert_json_error(api_b.delete(job["links"]["self"]), 404)
    copied = api_b.post(f"{JOBS}fromExisting/", json={"predictionJobId": job["id"]})
    assert_json_error(copied, 404)
    assert api_b.get(JOBS).json()["totalCount"] == 0
    assert api_b.get(JOBS, params={"jobId": job["id"]}).json()["data"] == []
    assert api_a.get(job["links"]["self"]).json()["status"] == "INITIALIZING"


def test_requests_without_a_token_are_401_json(live_server: Any) -> None:
    response = httpx.get(f"{live_server.url}/{JOBS}")
    assert_json_error(response, 401)


def test_the_official_client_reads_lists_copies_and_aborts_jobs(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    import datarobot as dr

    dr.Client(endpoint=live_server.url, token=live_server.token)
    submitted = submit(api_a, local_spec(deployment_a, numConcurrent=2))
    job = dr.BatchPredictionJob.get(submitted["id"])
    status = job.get_status()
    assert status["status"] == "INITIALIZING"
    assert status["job_spec"]["num_concurrent"] == 2

    copy = dr.BatchPredictionJob.score_from_existing(submitted["id"])
    assert copy.id != submitted["id"]
    assert copy.get_status()["job_spec"]["deployment_id"] == deployment_a

    job.delete()
    assert job.get_status()["status"] == "ABORTED"
    aborted = dr.BatchPredictionJob.list_by_status(["ABORTED"])
    assert [item["id"] for item in aborted] == [submitted["id"]]
    both = dr.BatchPredictionJob.list_by_status(["ABORTED", "INITIALIZING"])
    assert {item["id"] for item in both} == {submitted["id"], copy.id}


def test_the_openapi_description_lists_the_routes(live_server: Any) -> None:
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v2/batchPredictions/"])
    assert "delete" in paths["/api/v2/batchPredictions/{job_id}/"]
    assert "post" in paths["/api/v2/batchPredictions/fromJobDefinition/"]
    assert "patch" in paths["/api/v2/batchPredictionJobDefinitions/{definition_id}/"]
