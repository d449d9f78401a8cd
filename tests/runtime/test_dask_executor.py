"""Jobs scored on a Dask cluster (``SCORECAST_DASK_ADDRESS``), through ``JobRun`` itself.

A real ``distributed.LocalCluster`` of two worker processes scores the parts; the intake and
output are real files and a moto S3 server; the model is the demo's ONNX model. The same job run
without the setting (the local executor) gives the output each Dask run must equal byte for
byte.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dask_cluster_jobs import (
    FEATURES,
    JOB,
    Reference,
    assert_never_logged,
    emulators,
    environment,
    local_cluster,
    local_output,
    make_reference,
    model_description,
    plan,
    run,
    write_rows,
)
from dask_cluster_jobs import file_settings as _file

from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.domain.model_description import ModelDescription
from scorecast.engine.dask_tasks import KILL_WORKER_ONCE
from scorecast.runtime.memory_ledger import MemoryLedger

distributed = pytest.importorskip("distributed")

REFERENCE_ROWS = 40_000
SECRET = "dask-secret-key-never-shown"


@pytest.fixture(scope="module")
def kill_marker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """While this file exists, the first task that removes it ends its Dask worker process."""
    return tmp_path_factory.mktemp("dask-faults") / "kill-a-worker-once"


@pytest.fixture(scope="module")
def cluster(kill_marker: Path) -> Iterator[Any]:
    with local_cluster(**{KILL_WORKER_ONCE: str(kill_marker)}) as running:
        yield running


@pytest.fixture(scope="module")
def description() -> ModelDescription:
    return model_description()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, description: ModelDescription) -> Any:
    return make_reference(tmp_path_factory.mktemp("dask-reference"), description, REFERENCE_ROWS)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Reference) -> Path:
    root = tmp_path / "files"
    root.mkdir()
    environment(monkeypatch, tmp_path / "home", root, reference.source.parent)
    return root


@pytest.fixture(scope="module")
def moto_server() -> Iterator[emulators.Running]:
    with emulators.moto() as running:
        yield running


def _wait_until_only(folder: Path, names: set[str]) -> None:
    deadline = time.monotonic() + 120
    while {p.name for p in folder.iterdir()} != names:
        assert time.monotonic() < deadline, sorted(p.name for p in folder.iterdir())
        time.sleep(0.1)


def test_a_file_job_scored_on_the_cluster_equals_the_local_executors_output(
    cluster: Any, files: Path, description: ModelDescription
) -> None:
    source, target = files / "in.csv", files / "out.csv"
    write_rows(source, 60_000, bad_every=20_011)
    expected = local_output(description, files, source)
    ledger = MemoryLedger(plan(description, _file(source), _file(target)))

    run(ledger, cluster.scheduler_address)

    assert ledger.failed == []
    assert any("on the Dask cluster" in line and "parts" in line for line in ledger.logs)
    assert target.read_bytes() == expected
    [(_, progress)] = ledger.finished
    failed = len(range(0, 60_000, 20_011))
    assert progress.scored_rows == 60_000 - failed and progress.failed_rows == failed
    assert ledger.reports[-1].scored_rows == 60_000 - failed
    assert ledger.reports[-1].percentage is not None and ledger.reports[-1].percentage >= 99.0
    _wait_until_only(files, {"in.csv", "local.csv", "out.csv"})  # no part is left


def test_a_passed_through_numeric_feature_keeps_its_text_on_the_cluster(
    cluster: Any, files: Path, description: ModelDescription
) -> None:
    """``age`` is a numeric feature and a passthrough column: its text is copied as written
    (``45.50``, not ``45.5``), on the cluster as by the local executor."""
    source, target = files / "in.csv", files / "out.csv"
    with source.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(FEATURES)
        for index in range(20_000):
            writer.writerow([f"P{index:07d}", f"{20 + index % 60}.50", index % 5, 1, "urgent"])
    both = ("patient_id", "age")
    expected = local_output(description, files, source, passthrough=both)
    ledger = MemoryLedger(plan(description, _file(source), _file(target), passthrough=both))

    run(ledger, cluster.scheduler_address)

    assert ledger.failed == []
    assert any("on the Dask cluster" in line for line in ledger.logs)
    assert target.read_bytes() == expected
    ages = [row["age"] for row in csv.DictReader(io.StringIO(target.read_text()))]
    assert len(ages) == 20_000 and all(age.endswith(".50") for age in ages), ages[:3]


def test_an_s3_job_scored_on_the_cluster_equals_the_local_executors_output(
    cluster: Any,
    files: Path,
    description: ModelDescription,
    reference: Reference,
    moto_server: emulators.Running,
) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=moto_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key=SECRET,
    )
    client.create_bucket(Bucket="dask")
    client.upload_file(str(reference.source), "dask", "in/rows.csv")
    s3 = {"credentialId": "c1", "endpointUrl": moto_server.endpoint}
    ledger = MemoryLedger(
        plan(
            description,
            {"type": "s3", "url": "s3://dask/in/rows.csv", **s3},
            {"type": "s3", "url": "s3://dask/out/scored.csv", **s3},
        ),
        credentials={"c1": {"awsAccessKeyId": "testing", "awsSecretAccessKey": SECRET}},
    )

    run(ledger, cluster.scheduler_address)

    assert ledger.failed == []
    assert any("on the Dask cluster" in line for line in ledger.logs), ledger.logs
    scored = client.get_object(Bucket="dask", Key="out/scored.csv")["Body"].read()
    assert scored == reference.expected
    keys = [item["Key"] for item in client.list_objects_v2(Bucket="dask")["Contents"]]
    assert sorted(keys) == ["in/rows.csv", "out/scored.csv"]  # no part is left
    assert_never_logged(cluster.scheduler_address, SECRET, ledger)


def test_a_local_file_upload_runs_locally_and_says_why(
    cluster: Any, files: Path, description: ModelDescription, reference: Reference
) -> None:
    target = files / "out.csv"
    settings = Settings.from_env()
    upload = localfile_files.begin_streamed_upload(settings, JOB, None)
    upload.write(reference.source.read_bytes())
    upload.close()
    localfile_files.end_streamed_upload(settings, JOB)
    ledger = MemoryLedger(plan(description, {"type": "localFile"}, _file(target)))

    run(ledger, cluster.scheduler_address)

    assert ledger.failed == []
    assert any(line.startswith("runs locally: a localFile input") for line in ledger.logs)
    assert target.read_bytes() == reference.expected


def test_an_aborted_job_cancels_its_tasks_and_leaves_no_output(
    cluster: Any, files: Path, description: ModelDescription, reference: Reference
) -> None:
    target = files / "out.csv"
    job_plan = plan(description, _file(reference.source), _file(target))
    ledger = MemoryLedger(job_plan, answer=frozenset({"abort"}))

    run(ledger, cluster.scheduler_address, signals=frozenset({"abort"}))

    assert ledger.failed == [("ABORTED", "aborted on request")]
    assert any(line.startswith("cancelled the job's tasks") for line in ledger.logs)
    _wait_until_only(files, set())


def test_a_task_that_cannot_load_the_model_fails_the_job_with_its_reason(
    cluster: Any, files: Path, description: ModelDescription, reference: Reference
) -> None:
    target = files / "out.csv"
    broken = files.parent / "broken.onnx"
    broken.write_bytes(b"this is not an ONNX model")
    job_plan = plan(description, _file(reference.source), _file(target), artifact=broken)
    ledger = MemoryLedger(job_plan)

    run(ledger, cluster.scheduler_address)

    [(status, message)] = ledger.failed
    assert status == "FAILED" and message.startswith("part ") and "ONNX model" in message
    assert ledger.finished == []
    _wait_until_only(files, set())


def test_a_worker_that_dies_has_its_part_run_again_and_the_job_completes(
    cluster: Any,
    files: Path,
    description: ModelDescription,
    reference: Reference,
    kill_marker: Path,
) -> None:
    target = files / "out.csv"
    kill_marker.write_bytes(b"")
    ledger = MemoryLedger(plan(description, _file(reference.source), _file(target)))

    run(ledger, cluster.scheduler_address)

    assert not kill_marker.exists()  # a task ended its worker process
    assert ledger.failed == []
    assert target.read_bytes() == reference.expected


def test_abort_on_error_aborts_a_cluster_job_past_the_failed_rows_limit(
    cluster: Any, files: Path, description: ModelDescription
) -> None:
    source, target = files / "in.csv", files / "out.csv"
    write_rows(source, 20_000, bad_every=10)
    ledger = MemoryLedger(plan(description, _file(source), _file(target)))

    run(ledger, cluster.scheduler_address)

    [(status, message)] = ledger.failed
    assert status == "ABORTED" and message.startswith("aborted on errors: ")
    _wait_until_only(files, {"in.csv"})


def test_a_parquet_input_is_split_by_row_groups(
    cluster: Any, files: Path, description: ModelDescription, reference: Reference
) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    parquet, target = files / "in.parquet", files / "out.csv"
    pq.write_table(pacsv.read_csv(reference.source), parquet, row_group_size=5_000)
    ledger = MemoryLedger(plan(description, {**_file(parquet), "format": "parquet"}, _file(target)))

    run(ledger, cluster.scheduler_address)

    assert ledger.failed == []
    assert any("on the Dask cluster" in line for line in ledger.logs), ledger.logs
    assert target.read_bytes() == reference.expected
