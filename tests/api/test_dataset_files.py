"""Downloading a dataset's file (``datasets/{id}/file/``) with the official client and over HTTP."""

from __future__ import annotations

import io
from pathlib import Path

import datarobot as dr
import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from api_helpers import Api, api_a_fixture, api_b_fixture, assert_json_error

from live_api import LiveServer

__all__ = ["api_a_fixture", "api_b_fixture"]

CSV = b"num_a,name\n1,\xc3\xa9t\xc3\xa9\n3,b\n5,c\n"


def _parquet() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"num_a": [1.5, 2.5], "name": ["x", "y"]}), buffer)
    return buffer.getvalue()


def test_get_file_and_dataframe_with_the_official_client(
    live_server: LiveServer, tmp_path: Path
) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    source = tmp_path / "rows.csv"
    source.write_bytes(CSV)
    dataset = dr.Dataset.create_from_file(file_path=str(source))
    copy = tmp_path / "copy.csv"
    dataset.get_file(file_path=str(copy))
    assert copy.read_bytes() == CSV
    expected = pd.read_csv(io.BytesIO(CSV))
    pd.testing.assert_frame_equal(dataset.get_as_dataframe(), expected)
    pd.testing.assert_frame_equal(dataset.get_as_dataframe(low_memory=True), expected)


def test_parquet_versions_download_as_uploaded(
    live_server: LiveServer, api_a: Api, tmp_path: Path
) -> None:
    first = api_a.post("datasets/fromFile/", files={"file": ("rows.csv", CSV)})
    dataset_id = first.json()["catalogId"]
    parquet = _parquet()
    second = api_a.post(
        f"datasets/{dataset_id}/versions/fromFile/", files={"file": ("rows.parquet", parquet)}
    )
    assert second.status_code == 202, second.text
    latest = api_a.get(f"datasets/{dataset_id}/file/")
    assert latest.status_code == 200
    assert latest.content == parquet
    assert latest.headers["content-type"] == "application/vnd.apache.parquet"
    assert "attachment" in latest.headers["content-disposition"]
    tail = api_a.get(f"datasets/{dataset_id}/file/", headers={"Range": "bytes=4-"})
    assert (tail.status_code, tail.content) == (206, parquet[4:])
    older = api_a.get(f"datasets/{dataset_id}/versions/{first.json()['catalogVersionId']}/file/")
    assert (older.status_code, older.content) == (200, CSV)
    assert older.headers["content-type"].startswith("text/csv")
    dr.Client(endpoint=live_server.url, token=live_server.token)
    frame = dr.Dataset.get(dataset_id).get_as_dataframe()
    assert frame.to_dict("list") == {"num_a": [1.5, 2.5], "name": ["x", "y"]}


def test_other_organizations_and_unknown_ids_get_404(api_a: Api, api_b: Api) -> None:
    created = api_a.post("datasets/fromFile/", files={"file": ("rows.csv", CSV)})
    dataset_id, version_id = created.json()["catalogId"], created.json()["catalogVersionId"]
    for path in (
        f"datasets/{dataset_id}/file/",
        f"datasets/{dataset_id}/versions/{version_id}/file/",
    ):
        body = assert_json_error(api_b.get(path), 404)
        assert body["errors"] == {"datasetId": "not found"}
    assert_json_error(api_a.get("datasets/nope/file/"), 404)
    body = assert_json_error(api_a.get(f"datasets/{dataset_id}/versions/nope/file/"), 404)
    assert body["errors"] == {"datasetVersionId": "not found"}


def test_a_missing_file_is_404_not_500(live_server: LiveServer, api_a: Api) -> None:
    created = api_a.post("datasets/fromFile/", files={"file": ("rows.csv", CSV)})
    dataset_id = created.json()["catalogId"]
    for stored in (live_server.settings.datasets_dir / dataset_id).iterdir():
        stored.unlink()
    body = assert_json_error(api_a.get(f"datasets/{dataset_id}/file/"), 404)
    assert "missing" in body["message"]
    assert httpx.get(f"{live_server.url}/datasets/{dataset_id}/file/").status_code == 401
