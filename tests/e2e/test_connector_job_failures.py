"""Connector failures at job level, through a running ``scorecast serve`` (issue 5, Safety).

Connection failures, missing objects, permission errors and schema mismatches end the job
FAILED with a ``statusDetails`` and logs that name the location and the cause, never a secret,
with nothing written at the destination. A definition whose credential or data store was
deleted fails its next run with that reason.

Jobs go through the REST API (``POST batchPredictions/``), so that the test reads the job's
record as the wire has it (``statusDetails``, ``logs``); definitions through the official
client. The permission error uses a PostgreSQL role without privileges: moto's server accepts
any S3 key unless its auth emulation is switched on, and the tests run as root on CI, for whom a
filesystem root without read permission is still readable.
"""

# The fixtures imported from connector_servers are used as parameters, by name.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from clouds import AnswerLog, Secrets, emulators, features, to_csv
from connector_servers import (  # noqa: F401
    TERMINAL,
    answers,
    connect,
    gcs,
    http,
    keys,
    moto,
    s3,
    s3_credential,
    sqlite_deployment,
    sqlite_server,
    warehouse,
)
from serving import ServeProcess

from services import free_port, pg_execute, pg_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

BUCKET = "e2e"


@pytest.fixture(scope="module")
def inputs(s3: Any) -> str:
    """A small valid input object on moto; its key."""
    key = "failures/in.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=to_csv(features(30, seed=21)))
    return key


@pytest.fixture(scope="module")
def locked_role(warehouse: str, keys: Secrets) -> Iterator[str]:
    """A PostgreSQL login role with no privilege on the warehouse's tables (its password is
    the session's database secret; the server trusts local logins, so it only matters as a
    string that must not leak)."""
    role = f"scorecast_locked_{os.getpid()}"
    pg_execute(f'DROP ROLE IF EXISTS "{role}"')
    pg_execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{keys.db_password}'")
    try:
        yield role
    finally:
        engine = sa.create_engine(pg_url(warehouse), poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP OWNED BY "{role}"')
        engine.dispose()
        pg_execute(f'DROP ROLE IF EXISTS "{role}"')


def warehouse_sql(warehouse: str, *statements: str) -> list[Any]:
    """Run ``statements`` on the warehouse as postgres; the rows of the last one (if any)."""
    engine = sa.create_engine(pg_url(warehouse), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            result = None
            for statement in statements:
                result = connection.exec_driver_sql(statement)
            return list(result) if result is not None and result.returns_rows else []
    finally:
        engine.dispose()


def s3_settings(moto: emulators.Running, key: str, credential_id: str) -> dict[str, Any]:
    return {
        "type": "s3",
        "url": f"s3://{BUCKET}/{key}",
        "format": "csv",
        "credentialId": credential_id,
        "endpointUrl": moto.endpoint,
    }


def run_job(
    server: ServeProcess, answers: AnswerLog, deployment: str, intake: Any, output: Any
) -> dict[str, Any]:
    """Submit a job through the API; its record once terminal."""
    with http(server, answers) as client:
        response = client.post(
            "batchPredictions/",
            json={"deploymentId": deployment, "intakeSettings": intake, "outputSettings": output},
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        deadline = time.monotonic() + 120
        while True:
            job: dict[str, Any] = client.get(f"batchPredictions/{job_id}/").json()
            if job["status"] in TERMINAL:
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
            time.sleep(0.5)


def check_failed(job: dict[str, Any], keys: Secrets, *words: str) -> None:
    """Failed (ABORTED on the wire, ``endReason`` failed), and ``statusDetails`` and the logs
    each contain every one of ``words`` (case insensitive), and neither carries a secret."""
    record = json.dumps(job)
    assert (job["status"], job["endReason"]) == ("ABORTED", "failed"), record
    details, logs = job["statusDetails"], "\n".join(job["logs"])
    for word in words:
        assert word.lower() in details.lower(), (word, details)
        assert word.lower() in logs.lower(), (word, logs)
    leaked = [name for name, secret in keys.all().items() if secret in record]
    assert leaked == [], leaked


def object_absent(s3: Any, key: str) -> bool:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=key)
    uploads = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=key).get("Uploads", [])
    return not listing.get("Contents") and not uploads


# --- the four causes ---------------------------------------------------------------------------


def test_unreachable_endpoint_fails_the_job(
    *,
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    s3: Any,
    moto: emulators.Running,
    inputs: str,
    keys: Secrets,
    answers: AnswerLog,
) -> None:
    dr = connect(sqlite_server, answers)
    credential = s3_credential(dr, keys, "unreachable").credential_id
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    intake = {**s3_settings(moto, "failures/never-read.csv", credential), "endpointUrl": closed}
    output = s3_settings(moto, "failures/unreachable-out.csv", credential)
    job = run_job(sqlite_server, answers, sqlite_deployment, intake, output)
    print(job["statusDetails"], job["logs"])
    check_failed(job, keys, "s3://e2e/failures/never-read.csv", "connect")
    assert object_absent(s3, "failures/unreachable-out.csv")

    # the same on the output side: the input is read, nothing is written anywhere
    output = {**s3_settings(moto, "failures/never-written.csv", credential), "endpointUrl": closed}
    job = run_job(
        sqlite_server, answers, sqlite_deployment, s3_settings(moto, inputs, credential), output
    )
    print(job["statusDetails"], job["logs"])
    check_failed(job, keys, "s3://e2e/failures/never-written.csv", "connect")
    assert object_absent(s3, "failures/never-written.csv")


def test_missing_object_fails_the_job(
    *,
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    s3: Any,
    moto: emulators.Running,
    keys: Secrets,
    answers: AnswerLog,
) -> None:
    dr = connect(sqlite_server, answers)
    credential = s3_credential(dr, keys, "missing").credential_id
    intake = s3_settings(moto, "failures/absent.csv", credential)
    output = s3_settings(moto, "failures/absent-out.csv", credential)
    job = run_job(sqlite_server, answers, sqlite_deployment, intake, output)
    print(job["statusDetails"], job["logs"])
    check_failed(job, keys, "s3://e2e/failures/absent.csv", "does not exist")
    assert object_absent(s3, "failures/absent-out.csv")


def jdbc_settings(store_id: str, credential_id: str, table: str, **more: str) -> dict[str, Any]:
    return {
        "type": "jdbc",
        "dataStoreId": store_id,
        "credentialId": credential_id,
        "schema": "public",
        "table": table,
        **more,
    }


def warehouse_store(dr: Any, warehouse: str, name: str) -> str:
    store = dr.DataStore.create(
        data_store_type="jdbc",
        canonical_name=name,
        driver_id="postgresql",
        jdbc_url=f"jdbc:postgresql://127.0.0.1:5432/{warehouse}",
    )
    store_id: str = store.id
    return store_id


def test_permission_denied_fails_the_job(
    *,
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    s3: Any,
    moto: emulators.Running,
    inputs: str,
    warehouse: str,
    locked_role: str,
    keys: Secrets,
    answers: AnswerLog,
) -> None:
    warehouse_sql(
        warehouse,
        "CREATE TABLE locked_in (id integer, num_a double precision, num_b double precision)",
        "INSERT INTO locked_in VALUES (1, 0.5, 0.25), (2, -1.0, 2.0)",
    )
    dr = connect(sqlite_server, answers)
    store_id = warehouse_store(dr, warehouse, "locked warehouse")
    login = dr.Credential.create_basic("locked", user=locked_role, password=keys.db_password)
    s3_id = s3_credential(dr, keys, "permission").credential_id

    # reading a table the role may not select from
    intake = jdbc_settings(store_id, login.credential_id, "locked_in")
    output = s3_settings(moto, "failures/locked-out.csv", s3_id)
    job = run_job(sqlite_server, answers, sqlite_deployment, intake, output)
    print(job["statusDetails"], job["logs"])
    check_failed(job, keys, "locked_in", "permission denied")
    assert object_absent(s3, "failures/locked-out.csv")

    # creating a table in a schema the role may not create in (PostgreSQL 15: public is closed)
    output = jdbc_settings(
        store_id, login.credential_id, "locked_created", statementType="createTable"
    )
    job = run_job(
        sqlite_server, answers, sqlite_deployment, s3_settings(moto, inputs, s3_id), output
    )
    print(job["statusDetails"], job["logs"])
    check_failed(job, keys, "locked_created", "permission denied")
    assert warehouse_sql(warehouse, "SELECT to_regclass('public.locked_created')") == [(None,)]


def test_schema_mismatch_fails_the_job_and_leaves_the_table_as_it_was(
    *,
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    s3: Any,
    moto: emulators.Running,
    inputs: str,
    warehouse: str,
    keys: Secrets,
    answers: AnswerLog,
) -> None:
    warehouse_sql(
        warehouse,
        "CREATE TABLE mismatch_out (id integer NOT NULL, verdict date NOT NULL)",
        "INSERT INTO mismatch_out VALUES (7, DATE '2020-01-01')",
    )
    dr = connect(sqlite_server, answers)
    store_id = warehouse_store(dr, warehouse, "mismatch warehouse")
    login = dr.Credential.create_basic("mismatch", user="postgres", password=keys.db_password)
    s3_id = s3_credential(dr, keys, "mismatch").credential_id
    output = jdbc_settings(store_id, login.credential_id, "mismatch_out", statementType="insert")
    job = run_job(
        sqlite_server, answers, sqlite_deployment, s3_settings(moto, inputs, s3_id), output
    )
    print(job["statusDetails"], job["logs"])
    check_failed(job, keys, "public.mismatch_out", "label_PREDICTION", "schema mismatch")
    assert warehouse_sql(warehouse, "SELECT id, verdict::text FROM mismatch_out") == [
        (7, "2020-01-01")
    ]

    # every column there, one of a type the predictions cannot take ('yes' into an integer)
    columns = {
        "id": "integer",
        "num_a": "double precision",
        "num_b": "double precision",
        "label_no_PREDICTION": "double precision",
        "label_yes_PREDICTION": "double precision",
        "label_PREDICTION": "integer",
        "THRESHOLD": "double precision",
        "POSITIVE_CLASS": "text",
    }
    listed = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
    warehouse_sql(
        warehouse,
        f"CREATE TABLE mismatch_types ({listed})",
        "INSERT INTO mismatch_types (id) VALUES (42)",
    )
    output = jdbc_settings(store_id, login.credential_id, "mismatch_types", statementType="insert")
    job = run_job(
        sqlite_server, answers, sqlite_deployment, s3_settings(moto, inputs, s3_id), output
    )
    print(job["statusDetails"], job["logs"])
    check_failed(job, keys, "public.mismatch_types", "label_PREDICTION", "type integer")
    assert warehouse_sql(warehouse, "SELECT id FROM mismatch_types") == [(42,)]


# --- a definition whose credential or data store was deleted ----------------------------------


def snake(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings as the official client takes them (``credential_id``...)."""
    return {re.sub("([A-Z])", r"_\1", key).lower(): value for key, value in settings.items()}


def run_definition(server: ServeProcess, answers: AnswerLog, definition_id: str) -> Any:
    """``POST batchPredictions/fromJobDefinition/`` (what ``run_once`` sends); the answer."""
    with http(server, answers) as client:
        return client.post(
            "batchPredictions/fromJobDefinition/", json={"jobDefinitionId": definition_id}
        )


def job_count(server: ServeProcess, answers: AnswerLog) -> int:
    with http(server, answers) as client:
        count: int = client.get("batchPredictions/", params={"limit": 1}).json()["totalCount"]
        return count


def finished_job(server: ServeProcess, answers: AnswerLog, job_id: str) -> dict[str, Any]:
    with http(server, answers) as client:
        deadline = time.monotonic() + 120
        while True:
            job: dict[str, Any] = client.get(f"batchPredictions/{job_id}/").json()
            if job["status"] in TERMINAL:
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
            time.sleep(0.5)


def test_definition_whose_credential_or_data_store_was_deleted(
    *,
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    s3: Any,
    moto: emulators.Running,
    inputs: str,
    warehouse: str,
    keys: Secrets,
    answers: AnswerLog,
) -> None:
    dr = connect(sqlite_server, answers)
    warehouse_sql(
        warehouse,
        "CREATE TABLE definition_in (id integer, num_a double precision, num_b double precision)",
        "INSERT INTO definition_in VALUES (1, 0.5, 0.25), (2, -1.0, 2.0)",
    )
    store_id = warehouse_store(dr, warehouse, "definition warehouse")
    login = dr.Credential.create_basic("definition", user="postgres", password=keys.db_password)
    s3_cred = s3_credential(dr, keys, "definition s3")
    definitions = {}
    for name, intake, out in [
        ("s3", s3_settings(moto, inputs, s3_cred.credential_id), "failures/def-s3.csv"),
        (
            "jdbc",
            jdbc_settings(store_id, login.credential_id, "definition_in"),
            "failures/def-jdbc.csv",
        ),
    ]:
        definitions[name] = dr.BatchPredictionJobDefinition.create(
            enabled=False,
            batch_prediction_job={
                "num_concurrent": 1,
                "deployment_id": sqlite_deployment,
                "intake_settings": snake(intake),
                "output_settings": snake(s3_settings(moto, out, s3_cred.credential_id)),
            },
            name=f"deleted {name}",
            schedule=None,
        )
    # both run before anything is deleted
    for name, definition in definitions.items():
        job = definition.run_once()
        assert finished_job(sqlite_server, answers, job.id)["status"] == "COMPLETED", name

    jobs_before = job_count(sqlite_server, answers)

    # the data store goes: the next run is refused (422) naming the field and the id
    dr.DataStore.get(store_id).delete()
    answer = run_definition(sqlite_server, answers, definitions["jdbc"].id)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == {
        "intakeSettings": {
            "dataStoreId": f"no data store with id {store_id!r} in this organization"
        }
    }

    # the credential goes: the official client's run_once raises the 422, naming both uses
    s3_cred.delete()
    with pytest.raises(dr.errors.ClientError) as refused:
        definitions["s3"].run_once()
    assert refused.value.status_code == 422
    gone = f"no credential with id {s3_cred.credential_id!r} in this organization"
    assert refused.value.json["errors"] == {
        "intakeSettings": {"credentialId": gone},
        "outputSettings": {"credentialId": gone},
    }
    assert job_count(sqlite_server, answers) == jobs_before  # no job was created
    assert keys.aws_secret_access_key not in str(refused.value.json)
