"""Request bodies over their limit (``SCORECAST_MAX_*_BYTES``) are refused with a 422 naming
the field and the limit, nothing is kept, and the connection goes on serving requests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    assert_json_error,
    deployment_a_fixture,
)
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from live_api import LiveServer
from scorecast.api.body_limits import limit_for
from scorecast.config import Limits, Settings
from scorecast.errors import InvalidInput
from scorecast.store.db import session_scope
from scorecast.store.models import Job

LIMITS = Limits(body_bytes=2_000, upload_bytes=20_000, localfile_bytes=30_000)

SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, limits=LIMITS)


def _credential(padding: int) -> dict[str, str]:
    return {"name": "c", "credentialType": "basic", "user": "u", "password": "p" * padding}


def _chunks(data: bytes, size: int = 500) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@SQLITE
def test_a_json_body_over_the_limit_is_422_naming_it_and_the_connection_goes_on(
    api_a: Api,
) -> None:
    response = api_a.post("credentials/", json=_credential(3_000))
    body = assert_json_error(response, 422)
    assert body["errors"] == {
        "body": "is larger than the limit of 2000 bytes (SCORECAST_MAX_BODY_BYTES)"
    }
    # the same keep-alive connection answers the next request
    assert api_a.get("credentials/").json()["totalCount"] == 0
    assert api_a.post("credentials/", json=_credential(10)).status_code == 201


@SQLITE
def test_a_chunked_json_body_is_counted_as_it_arrives(api_a: Api) -> None:
    import json

    data = json.dumps(_credential(3_000)).encode()
    response = api_a.post(
        "credentials/", content=_chunks(data), headers={"Content-Type": "application/json"}
    )
    body = assert_json_error(response, 422)
    assert "SCORECAST_MAX_BODY_BYTES" in body["errors"]["body"]
    assert api_a.get("credentials/").json()["totalCount"] == 0


@SQLITE
def test_a_dataset_upload_over_its_limit_names_the_file_and_keeps_nothing(
    api_a: Api, live_server: LiveServer
) -> None:
    rows = b"a,b\n" + b"1,2\n" * 6_000
    response = api_a.post("datasets/fromFile/", files={"file": ("big.csv", rows)}, timeout=60)
    body = assert_json_error(response, 422)
    assert body["errors"] == {
        "file": "is larger than the limit of 20000 bytes (SCORECAST_MAX_UPLOAD_BYTES)"
    }
    assert not any(live_server.settings.datasets_dir.iterdir())
    # an upload within the limit (larger than the JSON limit) is taken
    small = b"a,b\n" + b"1,2\n" * 1_000
    accepted = api_a.post("datasets/fromFile/", files={"file": ("small.csv", small)}, timeout=60)
    assert accepted.status_code == 202, accepted.text


def _local_job(api: Api, deployment_id: str) -> str:
    spec = {
        "deploymentId": deployment_id,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }
    response = api.post("batchPredictions/", json=spec)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


@SQLITE
def test_a_localfile_body_has_its_own_limit_and_a_refused_one_leaves_the_job_waiting(
    api_a: Api, live_server: LiveServer, deployment_a: str
) -> None:
    job_id = _local_job(api_a, deployment_a)
    rows = b"age,visits\n" + b"31,2\n" * 8_000  # 40 kB: over the localFile limit
    response = api_a.put(f"batchPredictions/{job_id}/csvUpload/", content=rows)
    body = assert_json_error(response, 422)
    assert body["errors"] == {
        "body": "is larger than the limit of 30000 bytes (SCORECAST_MAX_LOCALFILE_BYTES)"
    }
    with session_scope(live_server.engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.intake_ready) == ("INITIALIZING", False)
    # within its limit (and far over the JSON limit), the same job takes its input
    accepted = api_a.put(f"batchPredictions/{job_id}/csvUpload/", content=rows[:20_000])
    assert accepted.status_code == 202, accepted.text


@SQLITE
def test_a_chunked_localfile_body_over_the_limit_never_reaches_the_job_whole(
    api_a: Api, live_server: LiveServer, deployment_a: str
) -> None:
    from scorecast.connectors import localfile_files

    job_id = _local_job(api_a, deployment_a)
    rows = b"age,visits\n" + b"31,2\n" * 8_000
    response = api_a.put(f"batchPredictions/{job_id}/csvUpload/", content=_chunks(rows, 4_000))
    body = assert_json_error(response, 422)
    assert "SCORECAST_MAX_LOCALFILE_BYTES" in body["errors"]["body"]
    # refused at the first read (the job still waits), or cut off after the job began to read
    # it: then the input is marked broken, naming the limit, and the job's reader fails
    failed = localfile_files.read_marker(live_server.settings, job_id, localfile_files.FAILED)
    complete = localfile_files.read_marker(live_server.settings, job_id, localfile_files.COMPLETE)
    assert complete is None
    if failed is not None:
        assert "SCORECAST_MAX_LOCALFILE_BYTES" in failed
    else:
        assert api_a.get(f"batchPredictions/{job_id}/").json()["status"] == "INITIALIZING"


def test_an_unlimited_kind_takes_any_size() -> None:
    limits = replace(LIMITS, localfile_bytes=0)
    assert limit_for(limits, "/api/v2/batchPredictions/abc/csvUpload/").bytes == 0
    assert limit_for(limits, "/api/v2/batchPredictions/abc/csvUpload/part/3/").bytes == 0
    assert limit_for(limits, "/api/v2/datasets/abc/versions/fromFile/").bytes == 20_000
    assert limit_for(limits, "/api/v2/deployments/fromModelFile/").bytes == 20_000
    assert limit_for(limits, "/api/v2/credentials/").bytes == 2_000


@hypothesis_settings(deadline=None)
@given(value=st.integers(min_value=0, max_value=2**70))
def test_limits_read_whole_numbers_from_the_environment(value: int) -> None:
    assert Limits.from_env({"SCORECAST_MAX_BODY_BYTES": str(value)}).body_bytes == value


@pytest.mark.parametrize("text", ["-1", "1.5", "ten", "1e6"])
def test_a_limit_that_is_not_a_whole_number_is_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(InvalidInput, match="SCORECAST_MAX_LINE_BYTES"):
        Limits.from_env({"SCORECAST_MAX_LINE_BYTES": text})
