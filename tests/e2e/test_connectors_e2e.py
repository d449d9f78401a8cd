"""Connectors end to end: real ``scorecast serve`` processes driven by the official ``datarobot``
client (3.20.0) against moto (S3, server mode), Azurite, gcp-storage-emulator and PostgreSQL.

Two servers, both with ``SCORECAST_ALLOW_PRIVATE_ENDPOINTS=1`` (the emulators listen on
127.0.0.1) and ``STORAGE_EMULATOR_HOST`` (how an admin points the gcp connector at an emulator;
the client's ``score_gcp`` has no endpoint parameter):

- SQLite store, token from serve's first start, deployment from ``scorecast deployment create``:
  the seed's example (a definition from S3 to S3, ``run_once()``, ``wait_for_completion()``),
  ``score_s3``, ``score_azure``, ``score_gcp``.
- PostgreSQL store, token from ``scorecast token create`` before serve, deployment through the
  API: a jdbc → jdbc definition with ``insert_update`` run twice, and an every-minute definition
  from S3 to S3. The scheduled definition is created by the first test so that its minutes pass
  while the other tests run; the schedule test near the end checks its fires.

The last test searches both servers' output, every file under their homes and every API answer
the tests received for the credentials' secrets. Each scored output is compared row for row
with the model's own predictions (onnxruntime on the same input).
"""

# The fixtures imported from connector_servers are used as parameters, by name.
# ruff: noqa: F811

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from clouds import AnswerLog, Secrets, check_predictions, emulators, features, read_csv, to_csv
from connector_servers import (  # noqa: F401
    TERMINAL,
    answers,
    azure_container,
    azurite,
    connect,
    finished,
    gcs,
    http,
    keys,
    moto,
    pg_deployment,
    pg_server,
    poll,
    read_fires,
    read_jobs,
    s3,
    s3_credential,
    sqlite_deployment,
    sqlite_server,
    store_text,
    warehouse,
)
from serving import ServeProcess

from scorecast.store.db import create_engine_for
from scorecast.store.models import Job, ScheduleFire

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

#: the seed's schedule payload, every minute (snake_case keys, as the seed writes them)
EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "day_of_month": ["*"],
    "month": ["*"],
    "day_of_week": ["*"],
}
FIRES = 2


# --- the every-minute definition (created first, checked last) ---------------------------------


@dataclass(frozen=True)
class Scheduled:
    definition_id: str
    first_run: datetime
    inputs: pd.DataFrame


@pytest.fixture(scope="module")
def every_minute(
    *,
    pg_server: ServeProcess,
    pg_deployment: str,
    s3: Any,
    moto: emulators.Running,
    keys: Secrets,
    answers: AnswerLog,
) -> Scheduled:
    """An enabled every-minute definition reading from and writing to S3 (``{job_id}`` in the
    output URL, so each run leaves its own object)."""
    inputs = features(200, seed=11)
    s3.put_object(Bucket="e2e", Key="scheduled/input.csv", Body=to_csv(inputs))
    dr = connect(pg_server, answers)
    credential = s3_credential(dr, keys, "scheduled s3")
    common = {
        "type": "s3",
        "format": "csv",
        "credential_id": credential.credential_id,
        "endpoint_url": moto.endpoint,
    }
    definition = dr.BatchPredictionJobDefinition.create(
        enabled=True,
        batch_prediction_job={
            "num_concurrent": 1,
            "deployment_id": pg_deployment,
            "intake_settings": {**common, "url": "s3://e2e/scheduled/input.csv"},
            "output_settings": {**common, "url": "s3://e2e/scheduled/out-{job_id}.csv"},
            "passthrough_columns": ["id"],
        },
        name="every minute on s3",
        schedule=EVERY_MINUTE,
    )
    # the client's definition object has no nextScheduledRunTime; the API answers it
    with http(pg_server, answers) as client:
        wire = client.get(f"batchPredictionJobDefinitions/{definition.id}/").json()
    assert wire["enabled"] is True and wire["nextScheduledRunTime"], wire
    # The first fire is the first minute after the creation. Not the nextScheduledRunTime read
    # here: when a minute began between the creation and this read, the scheduler may have
    # fired it already and moved nextScheduledRunTime on to the next minute.
    first_run = _instant(wire["created"]).replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert _instant(wire["nextScheduledRunTime"]) >= first_run, wire
    return Scheduled(definition.id, first_run, inputs)


def _instant(wire: str) -> datetime:
    return datetime.fromisoformat(wire.replace("Z", "+00:00"))


# --- the seed's example ------------------------------------------------------------------------


def test_seed_example_definition_run_once_on_s3(
    *,
    every_minute: Scheduled,  # created first: its minutes pass during the other tests
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    s3: Any,
    moto: emulators.Running,
    keys: Secrets,
    answers: AnswerLog,
    onnx_binary_model: Path,
) -> None:
    inputs = features(300, seed=1)[["num_a", "num_b"]]
    s3.put_object(Bucket="foobar", Key="123", Body=to_csv(inputs))
    dr = connect(sqlite_server, answers)
    credential = s3_credential(dr, keys, "seed s3")

    # the seed's job_spec, with our deployment, credential and the moto endpoint
    job_spec = {
        "num_concurrent": 4,
        "deployment_id": sqlite_deployment,
        "intake_settings": {
            "url": "s3://foobar/123",
            "type": "s3",
            "format": "csv",
            "credential_id": credential.credential_id,
            "endpoint_url": moto.endpoint,
        },
        "output_settings": {
            "url": "s3://foobar/123",
            "type": "s3",
            "format": "csv",
            "credential_id": credential.credential_id,
            "endpoint_url": moto.endpoint,
        },
    }
    definition = dr.BatchPredictionJobDefinition.create(
        enabled=False,
        batch_prediction_job=job_spec,
        name="some_definition_name",
        schedule=None,
    )
    definition = dr.BatchPredictionJobDefinition.get(definition.id)
    job = definition.run_once()
    finished(job)  # so that a FAILED job fails the test at once (see ``finished``)
    job.wait_for_completion()

    status = job.get_status()
    assert status["status"] == "COMPLETED", status
    assert status["scored_rows"] == 300
    # the seed reads and writes the same object: the scored file replaced the input
    scored = read_csv(s3.get_object(Bucket="foobar", Key="123")["Body"].read())
    check_predictions(onnx_binary_model, inputs, scored)
    assert s3.list_multipart_uploads(Bucket="foobar").get("Uploads", []) == []


def _warehouse(dr: Any, warehouse: str, keys: Secrets, name: str) -> tuple[str, str]:
    """A JDBC data store on the ``warehouse`` database and a basic credential for it, made
    through the official client: their ids."""
    store = dr.DataStore.create(
        data_store_type="jdbc",
        canonical_name=name,
        driver_id="postgresql",
        jdbc_url=f"jdbc:postgresql://127.0.0.1:5432/{warehouse}",
    )
    credential = dr.Credential.create_basic(
        f"{name} login", user="postgres", password=keys.db_password
    )
    return store.id, credential.credential_id


# --- jdbc → jdbc, insert_update ------------------------------------------------------------------


def test_jdbc_to_jdbc_definition_with_insert_update_on_postgresql(
    *,
    pg_server: ServeProcess,
    pg_deployment: str,
    warehouse: str,
    keys: Secrets,
    answers: AnswerLog,
    onnx_binary_model: Path,
) -> None:
    engine = sa.create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:5432/{warehouse}", poolclass=sa.pool.NullPool
    )
    source = features(120, seed=2)
    try:
        source.to_sql("patients", engine, index=False)
        dr = connect(pg_server, answers)
        store, credential = _warehouse(dr, warehouse, keys, "warehouse")
        database = {"data_store_id": store, "credential_id": credential}
        definition = dr.BatchPredictionJobDefinition.create(
            enabled=False,
            batch_prediction_job={
                "num_concurrent": 2,
                "deployment_id": pg_deployment,
                "passthrough_columns": ["id"],
                "intake_settings": {
                    "type": "jdbc",
                    **database,
                    "schema": "public",
                    "table": "patients",
                },
                "output_settings": {
                    "type": "jdbc",
                    **database,
                    "schema": "public",
                    "table": "scored",
                    "statement_type": "insert_update",
                    "where_columns": ["id"],
                    "create_table_if_not_exists": True,
                },
            },
            name="warehouse upsert",
            schedule=None,
        )

        first = finished(definition.run_once())
        assert first["status"] == "COMPLETED", first
        scored = pd.read_sql('SELECT * FROM scored ORDER BY "id"', engine)
        check_predictions(onnx_binary_model, source, scored)
        assert scored["id"].tolist() == source["id"].tolist()
        before = scored.set_index("id")

        # change ten rows (both features negated) and add five new ones
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE patients SET num_a = -num_a, num_b = -num_b WHERE id <= 10")
            )
        features(5, seed=3, first_id=121).to_sql(
            "patients", engine, index=False, if_exists="append"
        )
        source = pd.read_sql('SELECT * FROM patients ORDER BY "id"', engine)

        second = finished(definition.run_once())
        assert second["status"] == "COMPLETED", second
        scored = pd.read_sql('SELECT * FROM scored ORDER BY "id"', engine)
        assert scored["id"].tolist() == list(range(1, 126))  # updated in place, no duplicates
        check_predictions(onnx_binary_model, source, scored)
        after = scored.set_index("id")
        moved = (
            before["label_yes_PREDICTION"] - after.loc[before.index, "label_yes_PREDICTION"]
        ).abs()
        assert moved[moved > 1e-6].index.tolist() == list(range(1, 11))  # only the changed rows
        # no staging table left behind; the commit records (exactly-once outputs) are kept
        tables = sorted(sa.inspect(engine).get_table_names())
        assert tables == ["patients", "scorecast_commits", "scored"]
    finally:
        engine.dispose()


# --- score_s3 / score_azure / score_gcp ----------------------------------------------------------


def test_score_s3(
    *,
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    s3: Any,
    moto: emulators.Running,
    keys: Secrets,
    answers: AnswerLog,
    onnx_binary_model: Path,
) -> None:
    inputs = features(250, seed=4)
    s3.put_object(Bucket="e2e", Key="client/in.csv", Body=to_csv(inputs))
    dr = connect(sqlite_server, answers)
    job = dr.BatchPredictionJob.score_s3(
        sqlite_deployment,
        source_url="s3://e2e/client/in.csv",
        destination_url="s3://e2e/client/out.csv",
        credential=s3_credential(dr, keys, "score_s3"),
        endpoint_url=moto.endpoint,
        passthrough_columns=["id"],
    )
    status = finished(job)
    assert status["status"] == "COMPLETED", status
    scored = read_csv(s3.get_object(Bucket="e2e", Key="client/out.csv")["Body"].read())
    assert scored["id"].tolist() == inputs["id"].tolist()
    check_predictions(onnx_binary_model, inputs, scored)


def test_score_azure(
    *,
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    azurite: emulators.Running,
    answers: AnswerLog,
    onnx_binary_model: Path,
) -> None:
    inputs = features(250, seed=5)
    container = azure_container(azurite, "e2e")
    container.upload_blob("client/in.csv", to_csv(inputs), overwrite=True)
    dr = connect(sqlite_server, answers)
    # DataRobot's URL form; the connection string's BlobEndpoint sends requests to Azurite
    credential = dr.Credential.create_azure(
        "score_azure", azure_connection_string=emulators.azurite_connection_string(azurite.port)
    )
    base = f"https://{emulators.AZURITE_ACCOUNT}.blob.core.windows.net/e2e/client"
    job = dr.BatchPredictionJob.score_azure(
        sqlite_deployment,
        source_url=f"{base}/in.csv",
        destination_url=f"{base}/out.csv",
        credential=credential,
        passthrough_columns=["id"],
    )
    status = finished(job)
    assert status["status"] == "COMPLETED", status
    scored = read_csv(container.download_blob("client/out.csv").readall())
    assert scored["id"].tolist() == inputs["id"].tolist()
    check_predictions(onnx_binary_model, inputs, scored)


def test_score_gcp(
    *,
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    gcs: emulators.Running,
    keys: Secrets,
    answers: AnswerLog,
    onnx_binary_model: Path,
) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(
        project="e2e-project",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": gcs.endpoint},
    )
    bucket = client.bucket("e2e")
    if not bucket.exists():
        bucket = client.create_bucket("e2e")
    inputs = features(250, seed=6)
    bucket.blob("client/in.csv").upload_from_string(to_csv(inputs))
    dr = connect(sqlite_server, answers)
    credential = dr.Credential.create_gcp("score_gcp", gcp_key=keys.gcp_key())
    job = dr.BatchPredictionJob.score_gcp(
        sqlite_deployment,
        source_url="gs://e2e/client/in.csv",
        destination_url="https://storage.googleapis.com/e2e/client/out.csv",
        credential=credential,
        passthrough_columns=["id"],
    )
    status = finished(job)
    assert status["status"] == "COMPLETED", status
    scored = read_csv(bucket.blob("client/out.csv").download_as_bytes())
    assert scored["id"].tolist() == inputs["id"].tolist()
    check_predictions(onnx_binary_model, inputs, scored)


# --- the every-minute definition -----------------------------------------------------------------


def _settled(
    engine: sa.Engine, scheduled: Scheduled
) -> tuple[list[ScheduleFire], list[Job]] | None:
    """The fires and jobs of the definition once every fire's job is terminal, else None."""
    fires = read_fires(engine, scheduled.definition_id)
    jobs = read_jobs(engine, scheduled.definition_id)
    if {fire.job_id for fire in fires if fire.job_id} != {job.id for job in jobs}:
        return None
    if not all(job.status in TERMINAL for job in jobs):
        return None
    return fires, jobs


def test_every_minute_definition_on_s3_runs_once_per_minute(
    *,
    every_minute: Scheduled,
    pg_server: ServeProcess,
    s3: Any,
    answers: AnswerLog,
    onnx_binary_model: Path,
) -> None:
    engine = create_engine_for(pg_server.database_url)
    try:
        # FIRES minute boundaries from the first run, plus slack for the scheduler's tick on a
        # loaded machine (the wait ends as soon as the fires are there)
        wait = (every_minute.first_run + timedelta(minutes=FIRES - 1)).timestamp()
        poll(
            f"{FIRES} fires",
            lambda: len(read_fires(engine, every_minute.definition_id)) >= FIRES,
            max(wait - time.time(), 0) + 120,
        )
        dr = connect(pg_server, answers)
        definition = dr.BatchPredictionJobDefinition.get(every_minute.definition_id)
        definition.update(enabled=False)
        fires, jobs = poll("every fire's job ended", lambda: _settled(engine, every_minute), 120)
    finally:
        engine.dispose()

    times = [fire.scheduled_time for fire in fires]
    assert len(fires) >= FIRES
    assert times[0] == every_minute.first_run
    for earlier, later in itertools.pairwise(times):
        assert (later - earlier).total_seconds() == 60  # every minute, none twice, none skipped
    assert [fire.outcome for fire in fires] == ["started"] * len(fires), [
        (fire.outcome, fire.reason) for fire in fires
    ]
    assert sorted(job.scheduled_time for job in jobs) == times  # one job per fire
    assert {fire.job_id for fire in fires} == {job.id for job in jobs}
    assert [job.status for job in jobs] == ["COMPLETED"] * len(jobs)
    assert {job.source for job in jobs} == {"scheduled"}

    with http(pg_server, answers) as client:
        listed = client.get(
            "batchPredictions/",
            params={"batchPredictionJobDefinitionId": every_minute.definition_id},
        ).json()
    assert sorted(job["id"] for job in listed["data"]) == sorted(job.id for job in jobs)

    # each run wrote its own object, with the predictions for the input
    objects = s3.list_objects_v2(Bucket="e2e", Prefix="scheduled/out-").get("Contents", [])
    assert sorted(item["Key"] for item in objects) == sorted(
        f"scheduled/out-{job.id}.csv" for job in jobs
    )
    for item in objects:
        scored = read_csv(s3.get_object(Bucket="e2e", Key=item["Key"])["Body"].read())
        assert scored["id"].tolist() == every_minute.inputs["id"].tolist()
        check_predictions(onnx_binary_model, every_minute.inputs, scored)


# --- no secret anywhere --------------------------------------------------------------------------


def test_no_secret_in_server_output_files_or_answers(
    *,
    sqlite_server: ServeProcess,
    sqlite_deployment: str,
    pg_server: ServeProcess,
    pg_deployment: str,
    s3: Any,
    moto: emulators.Running,
    azurite: emulators.Running,
    warehouse: str,
    keys: Secrets,
    answers: AnswerLog,
) -> None:
    """Jobs with every kind of credential, succeeding and failing, then a search for the secrets
    (with the tests above, which ran before this one, also in the search)."""
    dr = connect(sqlite_server, answers)
    s3.put_object(Bucket="e2e", Key="leak/in.csv", Body=to_csv(features(20, seed=8)))
    s3_cred = s3_credential(dr, keys, "leak s3")
    ok = dr.BatchPredictionJob.score_s3(
        sqlite_deployment,
        source_url="s3://e2e/leak/in.csv",
        destination_url="s3://e2e/leak/out.csv",
        credential=s3_cred,
        endpoint_url=moto.endpoint,
    )
    missing = dr.BatchPredictionJob.score_s3(
        sqlite_deployment,
        source_url="s3://e2e/leak/absent.csv",
        destination_url="s3://e2e/leak/never.csv",
        credential=s3_cred,
        endpoint_url=moto.endpoint,
    )
    azure_container(azurite, "e2e").upload_blob(
        "leak/in.csv", to_csv(features(20, seed=9)), overwrite=True
    )
    wrong_key = emulators.azurite_connection_string(azurite.port).replace(
        emulators.AZURITE_KEY, keys.azure_bad_account_key
    )
    refused = dr.BatchPredictionJob.score_azure(
        sqlite_deployment,
        source_url=f"{azurite.endpoint}/{emulators.AZURITE_ACCOUNT}/e2e/leak/in.csv",
        destination_url=f"{azurite.endpoint}/{emulators.AZURITE_ACCOUNT}/e2e/leak/out.csv",
        credential=dr.Credential.create_azure("leak azure", azure_connection_string=wrong_key),
    )
    statuses = {name: finished(job) for name, job in [("ok", ok), ("missing", missing)]}
    statuses["refused"] = finished(refused)
    assert statuses["ok"]["status"] == "COMPLETED", statuses["ok"]
    for name in ("missing", "refused"):  # a failure is ABORTED on the wire, endReason failed
        ended = (statuses[name]["status"], statuses[name]["end_reason"])
        assert ended == ("ABORTED", "failed"), statuses[name]
    assert "absent.csv" in statuses["missing"]["status_details"]

    # a jdbc job that fails (no such table) with the basic credential's password
    dr = connect(pg_server, answers)
    store = dr.DataStore.create(
        data_store_type="jdbc",
        canonical_name="leak warehouse",
        driver_id="postgresql",
        jdbc_url=f"jdbc:postgresql://127.0.0.1:5432/{warehouse}",
    )
    basic = dr.Credential.create_basic("leak login", user="postgres", password=keys.db_password)
    failed = dr.BatchPredictionJob.score(
        pg_deployment,
        intake_settings={
            "type": "jdbc",
            "data_store_id": store.id,
            "credential_id": basic.credential_id,
            "table": "no_such_table",
        },
        output_settings={
            "type": "s3",
            "url": "s3://e2e/leak/jdbc.csv",
            "credential_id": s3_credential(dr, keys, "leak s3 pg").credential_id,
            "endpoint_url": moto.endpoint,
        },
    )
    assert finished(failed)["end_reason"] == "failed"

    # a string the API does echo (a credential's name), to show the search would find a leak
    planted = dr.Credential.create_basic(
        f"planted-{keys.db_password[::-1]}", user="someone", password="not-searched"
    )

    # every job's record as the API answers it (logs included)
    for server in (sqlite_server, pg_server):
        with http(server, answers) as client:
            listed = client.get("batchPredictions/", params={"limit": 1000}).json()
            for job in listed["data"]:
                client.get(f"batchPredictions/{job['id']}/")
            client.get("credentials/")

    stored = store_text(pg_server.database_url)  # the SQLite store is a file in its home
    leaks: dict[str, list[str]] = {}
    for name, secret in keys.all().items():
        found = answers.find(secret)
        if secret in stored:
            found.append("a row of the PostgreSQL store")
        for server in (sqlite_server, pg_server):
            if secret in "\n".join(server.lines):  # stdout; stderr is serve.log in the home
                found.append(f"stdout of serve in {server.home.name}")
            found += [
                str(path.relative_to(server.home))
                for path in sorted(server.home.rglob("*"))
                if path.is_file() and secret.encode() in path.read_bytes()
            ]
        if found:
            leaks[name] = found
    # the search finds what is there: names and ids the API does answer, the serve logs
    assert answers.find(s3_cred.credential_id) and answers.find("no_such_table")
    assert answers.find(planted.name) and planted.name in stored
    assert all((server.home / "serve.log").stat().st_size for server in (sqlite_server, pg_server))
    assert leaks == {}


def test_a_jdbc_query_reads_each_scheduled_days_rows_in_a_backfill(
    *,
    pg_server: ServeProcess,
    pg_deployment: str,
    warehouse: str,
    keys: Secrets,
    answers: AnswerLog,
    onnx_binary_model: Path,
) -> None:
    """The scheduled time fills a JDBC intake's ``query`` (issue 21): a daily definition
    back-run over two days scores each day's rows, once; the query's own braces (a string
    literal ``'{none}'``) are left as written."""
    engine = sa.create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:5432/{warehouse}", poolclass=sa.pool.NullPool
    )
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    source = features(90, seed=4, first_id=1001)
    source["day"] = [days[n % 3] for n in range(90)]
    source["note"] = "{some}"
    try:
        source.to_sql("visits", engine, index=False)
        dr = connect(pg_server, answers)
        store, credential = _warehouse(dr, warehouse, keys, "daily warehouse")
        database = {"dataStoreId": store, "credentialId": credential}
        query = (
            "SELECT id, num_a, num_b FROM visits "
            "WHERE day = '{scheduled_time:%Y-%m-%d}' AND note <> '{none}' ORDER BY id"
        )
        with http(pg_server, answers) as api:
            created = api.post(
                "batchPredictionJobDefinitions/",
                json={
                    "name": "daily visits",
                    "enabled": False,
                    "schedule": {
                        "minute": [0],
                        "hour": [2],
                        "dayOfMonth": ["*"],
                        "month": ["*"],
                        "dayOfWeek": ["*"],
                    },
                    "deploymentId": pg_deployment,
                    "passthroughColumns": ["id"],
                    "intakeSettings": {"type": "jdbc", **database, "query": query},
                    "outputSettings": {
                        "type": "jdbc",
                        **database,
                        "schema": "public",
                        "table": "scored_daily",
                        "statementType": "insert",
                        "createTableIfNotExists": True,
                    },
                },
            )
            assert created.status_code == 202, created.text
            definition = created.json()["id"]
            backfill = api.post(
                f"batchPredictionJobDefinitions/{definition}/backfills/",
                json={"start": "2026-03-01T00:00:00Z", "end": "2026-03-03T00:00:00Z"},
            )
            assert backfill.status_code in (201, 202), backfill.text
            link = f"batchPredictionJobDefinitions/{definition}/backfills/{backfill.json()['id']}/"
            ended = poll(
                "the backfill ended",
                lambda: (b := api.get(link).json())["status"] != "running" and b,
                timeout=300,
            )
            assert ended["status"] == "completed", ended
            assert ended["progress"]["done"] == 2, ended
        scored = pd.read_sql('SELECT * FROM scored_daily ORDER BY "id"', engine)
        wanted = source[source["day"].isin(days[:2])].sort_values("id")
        assert scored["id"].tolist() == wanted["id"].tolist()  # each back-run day, once
        check_predictions(onnx_binary_model, wanted[["id", "num_a", "num_b"]], scored)
    finally:
        engine.dispose()
