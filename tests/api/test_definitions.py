"""``batchPredictionJobDefinitions/`` over real HTTP, on SQLite and PostgreSQL.

Deployments are seeded as store rows with a real ``ModelDescription`` (no model is loaded: no
job runs here); everything else goes through the API, and one test through the official
``datarobot`` client.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    api_b_fixture,
    assert_json_error,
    deployment_a_fixture,
    seed_deployment,
)

from scorecast.domain.definition_names import ADJECTIVES, ANIMALS
from scorecast.domain.schedule import next_fire_after, parse_schedule
from scorecast.store.db import session_scope

PATH = "batchPredictionJobDefinitions/"
EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
}
MONDAY_1600 = {"minute": [0], "hour": [16], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": [1]}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def spec(deployment_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "deploymentId": deployment_id,
        "numConcurrent": 2,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
        **extra,
    }


def create(api: Api, deployment_id: str, **body: Any) -> dict[str, Any]:
    response = api.post(PATH, json={"enabled": False, **spec(deployment_id), **body})
    assert response.status_code == 202, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["Location"].endswith(f"/{PATH}{created['id']}/")
    return created


def test_create_answers_the_object_the_client_validates(api_a: Api, deployment_a: str) -> None:
    created = create(api_a, deployment_a, name="nightly")
    assert created["name"] == "nightly"
    assert created["enabled"] is False
    assert created["schedule"] is None
    assert created["nextScheduledRunTime"] is None
    job_spec = created["batchPredictionJob"]
    assert job_spec["numConcurrent"] == 2
    assert job_spec["deploymentId"] == deployment_a
    assert job_spec["abortOnError"] is True
    assert job_spec["csvSettings"] == {"delimiter": ",", "quotechar": '"', "encoding": "utf-8"}
    for who in ("createdBy", "updatedBy"):
        assert created[who]["username"] == "alice"
        assert isinstance(created[who]["userId"], str) and created[who]["userId"]
    assert DATETIME.match(created["created"]) and DATETIME.match(created["updated"])
    fetched = api_a.get(f"{PATH}{created['id']}/")
    assert fetched.status_code == 200
    assert fetched.json() == created


def test_a_name_is_generated_when_absent_and_is_unique(api_a: Api, deployment_a: str) -> None:
    names = {create(api_a, deployment_a)["name"] for _ in range(3)}
    assert len(names) == 3
    for name in names:
        adjective, animal = name.split("_")[:2]
        assert adjective in ADJECTIVES and animal in ANIMALS


def test_a_duplicate_name_is_409_naming_the_name(
    api_a: Api, api_b: Api, deployment_a: str, live_server: Any
) -> None:
    create(api_a, deployment_a, name="daily scoring")
    again = api_a.post(PATH, json={"enabled": False, "name": "daily scoring", **spec(deployment_a)})
    body = assert_json_error(again, 409)
    assert "daily scoring" in body["message"]
    assert "name" in body["errors"]
    # Names are unique per organization only.
    create(api_b, seed_deployment(live_server, "org-b"), name="daily scoring")


def test_enabled_without_schedule_is_422(api_a: Api, deployment_a: str) -> None:
    response = api_a.post(PATH, json={"enabled": True, **spec(deployment_a)})
    body = assert_json_error(response, 422)
    assert "schedule" in body["errors"]


def test_a_bad_schedule_is_422_naming_the_key(api_a: Api, deployment_a: str) -> None:
    schedule = {**MONDAY_1600, "minute": [60]}
    response = api_a.post(PATH, json={"enabled": True, "schedule": schedule, **spec(deployment_a)})
    body = assert_json_error(response, 422)
    assert "minute" in body["errors"]["schedule"]
    missing = {key: value for key, value in MONDAY_1600.items() if key != "dayOfWeek"}
    response = api_a.post(PATH, json={"enabled": False, "schedule": missing, **spec(deployment_a)})
    assert "dayOfWeek" in assert_json_error(response, 422)["errors"]["schedule"]


def test_the_spec_is_validated_like_a_job(api_a: Api, deployment_a: str) -> None:
    response = api_a.post(PATH, json={"enabled": False, **spec(deployment_a, numConcurrent=0)})
    assert "numConcurrent" in assert_json_error(response, 422)["errors"]
    unknown = api_a.post(PATH, json={"enabled": False, **spec("0" * 24)})
    assert "deploymentId" in assert_json_error(unknown, 404)["errors"]
    malformed = api_a.post(
        PATH, content=b'{"enabled": false,', headers={"Content-Type": "application/json"}
    )
    assert_json_error(malformed, 422)


def test_an_enabled_schedule_gets_its_next_run_time(api_a: Api, deployment_a: str) -> None:
    before = datetime.now(UTC)
    created = create(api_a, deployment_a, enabled=True, schedule=MONDAY_1600)
    after = datetime.now(UTC)
    schedule = parse_schedule(MONDAY_1600)
    candidates = {next_fire_after(schedule, before), next_fire_after(schedule, after)}
    next_run = datetime.strptime(created["nextScheduledRunTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert next_run.replace(tzinfo=UTC) in candidates
    assert created["schedule"] == MONDAY_1600


@pytest.mark.parametrize("slash", ["", "/"])
def test_patch_is_a_top_level_partial_merge(api_a: Api, deployment_a: str, slash: str) -> None:
    intake = {"type": "localFile", "multipart": True}
    created = create(api_a, deployment_a, name="before", intakeSettings=intake)
    url = f"{PATH}{created['id']}{slash}"

    renamed = api_a.patch(url, json={"enabled": False, "name": "after", "numConcurrent": 5})
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert body["name"] == "after"
    assert body["batchPredictionJob"]["numConcurrent"] == 5
    assert body["batchPredictionJob"]["intakeSettings"] == intake
    assert body["batchPredictionJob"]["csvSettings"]["delimiter"] == ","

    scheduled = api_a.patch(url, json={"enabled": True, "schedule": EVERY_MINUTE}).json()
    assert scheduled["enabled"] is True
    assert scheduled["schedule"] == EVERY_MINUTE
    assert scheduled["nextScheduledRunTime"] is not None
    assert scheduled["name"] == "after"

    replaced = api_a.patch(url, json={"intakeSettings": {"type": "localFile"}}).json()
    assert replaced["batchPredictionJob"]["intakeSettings"] == {"type": "localFile"}
    assert replaced["enabled"] is True

    disabled = api_a.patch(url, json={"enabled": False}).json()
    assert disabled["enabled"] is False
    assert disabled["schedule"] == EVERY_MINUTE
    assert disabled["nextScheduledRunTime"] is None
    assert api_a.get(f"{PATH}{created['id']}/").json() == disabled


def test_patch_rejections(api_a: Api, deployment_a: str) -> None:
    first = create(api_a, deployment_a, name="first")
    create(api_a, deployment_a, name="second")
    url = f"{PATH}{first['id']}"
    assert "schedule" in assert_json_error(api_a.patch(url, json={"enabled": True}), 422)["errors"]
    taken = assert_json_error(api_a.patch(url, json={"name": "second"}), 409)
    assert "second" in taken["message"]
    bad = api_a.patch(url, json={"schedule": {**EVERY_MINUTE, "hour": [25]}})
    assert "hour" in assert_json_error(bad, 422)["errors"]["schedule"]
    bad_spec = api_a.patch(url, json={"chunkSize": "enormous"})
    assert "chunkSize" in assert_json_error(bad_spec, 422)["errors"]
    unchanged = api_a.get(f"{url}/").json()
    assert unchanged == first


def test_policies_default_to_todays_behaviour_and_are_set_on_create_and_patch(
    api_a: Api, deployment_a: str
) -> None:
    plain = create(api_a, deployment_a, name="plain")
    assert plain["overlapPolicy"] == "skip"
    assert plain["catchUp"] == {"windowSeconds": 3600, "maxRuns": 1}
    assert plain["retry"] == {"maxAttempts": 1, "delaySeconds": 60, "backoffFactor": 2.0}
    assert plain["timeoutSeconds"] is None
    assert plain["jitterSeconds"] == 0
    assert plain["retention"] is None

    created = create(
        api_a,
        deployment_a,
        name="with-policies",
        overlapPolicy="queue",
        catchUp={"windowSeconds": 7200, "maxRuns": 3},
        timeoutSeconds=600,
        retention={"maxJobs": 10, "maxAgeDays": None, "keepLastSuccessful": True},
    )
    assert created["overlapPolicy"] == "queue"
    assert created["catchUp"] == {"windowSeconds": 7200, "maxRuns": 3}
    assert "overlapPolicy" not in created["batchPredictionJob"]
    url = f"{PATH}{created['id']}/"
    changed = api_a.patch(url, json={"jitterSeconds": 30, "timeoutSeconds": None}).json()
    assert changed["jitterSeconds"] == 30
    assert changed["timeoutSeconds"] is None
    assert changed["overlapPolicy"] == "queue"
    assert changed["retention"]["maxJobs"] == 10
    assert api_a.get(url).json() == changed


def test_a_bad_policy_is_422_naming_the_field_and_changes_nothing(
    api_a: Api, deployment_a: str
) -> None:
    response = api_a.post(
        PATH, json={"enabled": False, "overlapPolicy": "sometimes", **spec(deployment_a)}
    )
    assert "overlapPolicy" in assert_json_error(response, 422)["errors"]
    created = create(api_a, deployment_a, name="kept")
    url = f"{PATH}{created['id']}/"
    bad = api_a.patch(url, json={"catchUp": {"maxRuns": -1}, "name": "renamed"})
    assert "maxRuns" in assert_json_error(bad, 422)["errors"]["catchUp"]
    assert api_a.get(url).json() == created


def test_list_filters_and_absolute_next_links(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    other_deployment = seed_deployment(live_server, "org-a")
    for index in range(3):
        create(api_a, deployment_a, name=f"Nightly-{index}")
    create(api_a, other_deployment, name="weekly")

    everything = api_a.get(PATH).json()
    assert everything["totalCount"] == 4 and everything["count"] == 4
    assert everything["next"] is None

    found = api_a.get(PATH, params={"searchName": "nightly"}).json()
    assert sorted(item["name"] for item in found["data"]) == ["Nightly-0", "Nightly-1", "Nightly-2"]
    by_deployment = api_a.get(PATH, params={"deploymentId": other_deployment}).json()
    assert [item["name"] for item in by_deployment["data"]] == ["weekly"]

    first = api_a.get(PATH, params={"searchName": "ight", "limit": 2}).json()
    assert first["count"] == 2 and first["totalCount"] == 3
    assert first["next"].startswith(live_server.url + "/" + PATH)
    assert "searchName=ight" in first["next"] and "limit=2" in first["next"]
    second = api_a.get(first["next"]).json()
    assert second["count"] == 1 and second["next"] is None
    seen = {item["id"] for item in first["data"] + second["data"]}
    assert len(seen) == 3


def test_delete_stops_the_definition(api_a: Api, deployment_a: str) -> None:
    created = create(api_a, deployment_a, enabled=True, schedule=EVERY_MINUTE)
    url = f"{PATH}{created['id']}/"
    assert api_a.delete(url).status_code == 204
    assert_json_error(api_a.get(url), 404)
    assert_json_error(api_a.delete(url), 404)
    assert api_a.get(PATH).json()["totalCount"] == 0


def test_a_fired_definition_can_be_deleted_and_its_job_lives_on(
    api_a: Api, deployment_a: str, live_server: Any
) -> None:
    from datetime import timedelta

    from scorecast.service.firing import fire_due_definitions

    created = create(api_a, deployment_a, enabled=True, schedule=EVERY_MINUTE)
    due = datetime.strptime(created["nextScheduledRunTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
    with session_scope(live_server.engine, immediate=True) as session:
        fire_due_definitions(session, due.replace(tzinfo=UTC) + timedelta(seconds=1))
    listed = api_a.get(
        "batchPredictions/", params={"batchPredictionJobDefinitionId": created["id"]}
    ).json()
    assert listed["totalCount"] == 1
    job = listed["data"][0]
    assert job["source"] == "scheduled"
    refreshed = api_a.get(f"{PATH}{created['id']}/").json()
    assert refreshed["lastScheduledRunTime"] == created["nextScheduledRunTime"]
    assert refreshed["lastStartedJobStatus"] == "INITIALIZING"

    assert api_a.delete(f"{PATH}{created['id']}/").status_code == 204
    still = api_a.get(job["links"]["self"])
    assert still.status_code == 200
    assert still.json()["status"] == "INITIALIZING"


def test_another_organization_sees_nothing(api_a: Api, api_b: Api, deployment_a: str) -> None:
    created = create(api_a, deployment_a, name="private")
    url = f"{PATH}{created['id']}/"
    assert_json_error(api_b.get(url), 404)
    assert_json_error(api_b.patch(url, json={"enabled": False, "name": "stolen"}), 404)
    assert_json_error(api_b.patch(url.rstrip("/"), json={"enabled": False}), 404)
    assert_json_error(api_b.delete(url), 404)
    ran = api_b.post("batchPredictions/fromJobDefinition/", json={"jobDefinitionId": created["id"]})
    assert_json_error(ran, 404)
    assert api_b.get(PATH).json()["totalCount"] == 0
    # org B cannot point a definition at org A's deployment either
    assert_json_error(api_b.post(PATH, json={"enabled": False, **spec(deployment_a)}), 404)
    assert api_a.get(url).json() == created


def test_the_official_client_drives_definitions(live_server: Any, deployment_a: str) -> None:
    import datarobot as dr
    from datarobot.errors import ClientError

    dr.Client(endpoint=live_server.url, token=live_server.token)
    job = {
        "deployment_id": deployment_a,
        "num_concurrent": 1,
        "intake_settings": {"type": "localFile"},
        "output_settings": {"type": "localFile"},
        "passthrough_columns_set": "all",
        "csv_settings": {"delimiter": ";", "quotechar": '"', "encoding": "utf-8"},
    }
    definition = dr.BatchPredictionJobDefinition.create(
        enabled=False, batch_prediction_job=job, name="client-made"
    )
    assert definition.name == "client-made"
    assert definition.batch_prediction_job["csv_settings"]["delimiter"] == ";"
    fetched = dr.BatchPredictionJobDefinition.get(definition.id)
    assert fetched.id == definition.id and fetched.enabled is False

    unnamed = dr.BatchPredictionJobDefinition.create(enabled=False, batch_prediction_job=job)
    assert unnamed.name and unnamed.name != "client-made"
    listed = dr.BatchPredictionJobDefinition.list(search_name="client", limit=0)
    assert [item.id for item in listed] == [definition.id]
    assert len(dr.BatchPredictionJobDefinition.list(limit=0)) == 2

    with pytest.raises(ClientError) as duplicate:
        dr.BatchPredictionJobDefinition.create(
            enabled=False, batch_prediction_job=job, name="client-made"
        )
    assert duplicate.value.status_code == 409
    assert "client-made" in str(duplicate.value)

    # sending back the spec the client read is accepted unchanged
    resent = fetched.update(enabled=False, batch_prediction_job=fetched.batch_prediction_job)
    assert resent.batch_prediction_job == fetched.batch_prediction_job

    renamed = fetched.update(enabled=False, name="client-renamed")
    assert renamed.name == "client-renamed"
    schedule = {
        "minute": [30],
        "hour": [2],
        "day_of_month": ["*"],
        "month": ["*"],
        "day_of_week": ["*"],
    }
    enabled = renamed.run_on_schedule(schedule)
    assert enabled.enabled is True
    assert enabled.schedule["minute"] == [30]
    assert enabled.name == "client-renamed"
    disabled = enabled.update(enabled=False)
    assert disabled.enabled is False
    job_run = disabled.run_once()
    assert job_run.id
    status = job_run.get_status()
    assert status["status"] == "INITIALIZING"
    assert status["job_spec"]["deployment_id"] == deployment_a

    disabled.delete()
    with pytest.raises(ClientError) as gone:
        dr.BatchPredictionJobDefinition.get(definition.id)
    assert gone.value.status_code == 404
