"""Job list filters and fields the official client users meet (issue 15), over real HTTP on
SQLite and PostgreSQL: ``source=-api`` excludes, ``status`` follows the wire's statuses, and
``intakeDatasetDisplayName`` names the dataset a job reads."""

from __future__ import annotations

from typing import Any

from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    api_b_fixture,
    assert_json_error,
    deployment_a_fixture,
)
from sqlalchemy import update

from scorecast.store.db import session_scope
from scorecast.store.models import Job

JOBS = "batchPredictions/"
CSV = b"age,visits\n40,2\n"  # the seeded deployment's features


def _local(deployment_id: str) -> dict[str, Any]:
    return {
        "deploymentId": deployment_id,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }


def _ids(api: Api, **params: Any) -> set[str]:
    response = api.get(JOBS, params=params)
    assert response.status_code == 200, response.text
    return {job["id"] for job in response.json()["data"]}


def test_a_minus_source_excludes_and_a_plain_one_includes(api_a: Api, deployment_a: str) -> None:
    from_api = api_a.post(JOBS, json=_local(deployment_a)).json()["id"]
    definition = api_a.post(
        "batchPredictionJobDefinitions/",
        json={"enabled": False, "name": "by hand", **_local(deployment_a)},
    ).json()
    manual = api_a.post(f"{JOBS}fromJobDefinition/", json={"jobDefinitionId": definition["id"]})
    by_hand = manual.json()["id"]
    assert _ids(api_a, source="api") == {from_api}
    assert _ids(api_a, source="-api") == {by_hand}
    assert _ids(api_a, source="-manual") == {from_api}
    assert _ids(api_a, source=["-api", "-manual"]) == set()
    assert _ids(api_a, source=["api", "manual"]) == {from_api, by_hand}
    assert _ids(api_a, source=["manual", "-api"]) == {by_hand}


def test_status_filters_follow_the_wire(api_a: Api, deployment_a: str, live_server: Any) -> None:
    failed, aborted, waiting = (api_a.post(JOBS, json=_local(deployment_a)).json() for _ in "abc")
    with session_scope(live_server.engine) as session:
        session.execute(
            update(Job).where(Job.id == failed["id"]).values(status="FAILED", queued=False)
        )
    assert api_a.delete(aborted["links"]["self"]).status_code == 202
    shown = {job["id"]: job for job in api_a.get(JOBS).json()["data"]}
    assert (shown[failed["id"]]["status"], shown[failed["id"]]["endReason"]) == (
        "ABORTED",
        "failed",
    )
    assert (shown[aborted["id"]]["status"], shown[aborted["id"]]["endReason"]) == (
        "ABORTED",
        "aborted",
    )
    assert shown[waiting["id"]]["endReason"] is None
    assert _ids(api_a, status="ABORTED") == {failed["id"], aborted["id"]}
    assert _ids(api_a, status="FAILED") == {failed["id"]}
    assert _ids(api_a, status="INITIALIZING") == {waiting["id"]}
    refused = assert_json_error(api_a.get(JOBS, params={"status": "ERROR"}), 422)
    assert "status" in refused["errors"] and "FAILED" in refused["errors"]["status"]
    conflict = assert_json_error(api_a.delete(failed["links"]["self"]), 409)
    assert conflict["errors"] == {"status": "ABORTED"}
    assert "ABORTED (failed)" in conflict["message"]


def test_intake_dataset_display_name_names_the_dataset(
    api_a: Api, api_b: Api, deployment_a: str
) -> None:
    uploaded = api_a.post(
        "datasets/fromFile/", files={"file": ("a.csv", CSV)}, data={"datasetName": "March rows"}
    )
    assert uploaded.status_code == 202, uploaded.text
    dataset_id = uploaded.json()["catalogId"]
    spec = {**_local(deployment_a), "intakeSettings": {"type": "dataset", "datasetId": dataset_id}}
    reading = api_a.post(JOBS, json=spec)
    assert reading.status_code == 202, reading.text
    assert reading.json()["intakeDatasetDisplayName"] == "March rows"
    other = api_a.post(JOBS, json=_local(deployment_a)).json()
    assert other["intakeDatasetDisplayName"] is None
    listed = {job["id"]: job for job in api_a.get(JOBS).json()["data"]}
    assert listed[reading.json()["id"]]["intakeDatasetDisplayName"] == "March rows"
    assert api_a.delete(f"datasets/{dataset_id}/").status_code in (200, 204)
    after = api_a.get(reading.json()["links"]["self"]).json()
    assert after["intakeDatasetDisplayName"] is None  # the dataset is gone
    assert api_b.get(JOBS).json()["data"] == []
