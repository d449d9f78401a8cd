"""No secret is ever echoed (issue 15): every secret-bearing field, sent through the official
client and raw requests to a real ``scorecast serve``, then a search of every response the
client received, of every list and object read back, and of the server's output.

Secret-bearing fields: ``predictionInstance.apiKey`` and ``predictionInstance.datarobotKey`` in
job specs (submitted, copied, in definitions), the fields of each credential type (basic, s3,
azure, gcp), credentials of types this server refuses (oauth), and a password inside a data
store's ``jdbcUrl`` (refused).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
import requests
from serving import ServeProcess

from scorecast.demo import DATA

pytestmark = pytest.mark.e2e


def _secret(name: str) -> str:
    return f"{name}-{secrets.token_hex(8)}"


SECRETS = {
    name: _secret(name)
    for name in (
        "apiKey",
        "datarobotKey",
        "definitionApiKey",
        "definitionDatarobotKey",
        "rawApiKey",
        "password",
        "awsAccessKeyId",
        "awsSecretAccessKey",
        "awsSessionToken",
        "azureConnectionString",
        "gcpPrivateKey",
        "oauthToken",
        "oauthRefreshToken",
        "jdbcPassword",
    )
}


def _instance(api_key: str, datarobot_key: str) -> dict[str, Any]:
    return {
        "hostName": "pred.example.com",
        "sslEnabled": True,
        "apiKey": api_key,
        "datarobotKey": datarobot_key,
    }


def test_no_secret_bearing_field_is_ever_echoed(
    dr: Any, server: ServeProcess, deployment: str
) -> None:
    session = dr.client.get_client()
    answers: list[str] = []

    def keep(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        answers.append(f"{response.status_code} {response.headers} {response.text}")

    session.hooks["response"].append(keep)
    try:
        _send_every_secret(dr, session, deployment)
        _read_everything_back(session)
    finally:
        session.hooks["response"].remove(keep)

    assert len(answers) > 20, answers
    found = {
        name: [answer[:300] for answer in answers if value in answer]
        for name, value in SECRETS.items()
    }
    assert {name: hits for name, hits in found.items() if hits} == {}
    output = server.output()
    assert [name for name, value in SECRETS.items() if value in output] == []


def _send_every_secret(dr: Any, session: Any, deployment: str) -> None:
    job = dr.BatchPredictionJob.score(
        deployment,
        intake_settings={"type": "localFile", "file": str(DATA)},
        prediction_instance=_instance(SECRETS["apiKey"], SECRETS["datarobotKey"]),
    )
    job.wait_for_completion()
    assert job.get_status()["job_spec"]["prediction_instance"] == {
        "host_name": "pred.example.com",
        "ssl_enabled": True,
    }
    dr.BatchPredictionJob.score_from_existing(job.id)

    raw = session.post(
        "batchPredictions/",
        json={
            "deploymentId": deployment,
            "intakeSettings": {"type": "localFile"},
            "predictionInstance": _instance(SECRETS["rawApiKey"], SECRETS["rawApiKey"]),
        },
    )
    assert raw.status_code == 202, raw.text
    session.delete(f"batchPredictions/{raw.json()['id']}/")

    definition = dr.BatchPredictionJobDefinition.create(
        enabled=False,
        name="with a prediction instance",
        batch_prediction_job={
            "deployment_id": deployment,
            "intake_settings": {"type": "localFile"},
            "num_concurrent": 1,
            "prediction_instance": _instance(
                SECRETS["definitionApiKey"], SECRETS["definitionDatarobotKey"]
            ),
        },
    )
    dr.BatchPredictionJobDefinition.get(definition.id)

    dr.Credential.create_basic("basic", user="reader", password=SECRETS["password"])
    dr.Credential.create_s3(
        "s3",
        aws_access_key_id=SECRETS["awsAccessKeyId"],
        aws_secret_access_key=SECRETS["awsSecretAccessKey"],
        aws_session_token=SECRETS["awsSessionToken"],
    )
    dr.Credential.create_azure("azure", azure_connection_string=SECRETS["azureConnectionString"])
    dr.Credential.create_gcp(
        "gcp",
        gcp_key={
            "type": "service_account",
            "client_email": "robot@example.iam.gserviceaccount.com",
            "private_key": SECRETS["gcpPrivateKey"],
        },
    )
    with pytest.raises(dr.errors.ClientError):  # a type this server does not store
        dr.Credential.create_oauth(
            "oauth", token=SECRETS["oauthToken"], refresh_token=SECRETS["oauthRefreshToken"]
        )
    with pytest.raises(dr.errors.ClientError) as refused:  # a password in the address
        session.post(
            "externalDataStores/",
            json={
                "type": "jdbc",
                "canonicalName": "with a password",
                "params": {
                    "driverId": "postgresql",
                    "jdbcUrl": (
                        f"jdbc:postgresql://reader:{SECRETS['jdbcPassword']}@db.example.com/x"
                    ),
                },
            },
        )
    assert refused.value.status_code == 422


def _read_everything_back(session: Any) -> None:
    lists = ("batchPredictions/", "batchPredictionJobDefinitions/", "credentials/")
    for path in (*lists, "externalDataStores/"):
        listing = session.get(path, params={"limit": 100})
        assert listing.status_code == 200, listing.text
        for item in listing.json()["data"]:
            ident = item.get("id") or item.get("credentialId")
            if path in lists and ident:
                one = session.get(f"{path}{ident}/")
                assert one.status_code == 200, one.text
    jobs = json.loads(session.get("batchPredictions/", params={"limit": 100}).text)["data"]
    assert any("predictionInstance" in job["jobSpec"] for job in jobs)
