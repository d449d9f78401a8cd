"""Datasets: uploads through the official client, versions, bad files, delete."""

from __future__ import annotations

import io
from pathlib import Path

import datarobot as dr
import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from live_api import LiveServer

CSV = b"num_a,num_b\n1,2\n3,4\n5,6\n"


def test_create_from_file_with_the_official_client(live_server: LiveServer, tmp_path: Path) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    path = tmp_path / "rows.csv"
    path.write_bytes(CSV)
    dataset = dr.Dataset.create_from_file(file_path=str(path))
    assert dataset.name == "rows.csv"
    assert dataset.row_count == 3
    assert dataset.size == len(CSV)
    fetched = dr.Dataset.get(dataset.id)
    assert fetched.version_id == dataset.version_id
    stored = list(live_server.settings.datasets_dir.rglob("*.csv"))
    assert [p.read_bytes() for p in stored] == [CSV]
    dr.Dataset.delete(dataset.id)
    assert not any(live_server.settings.datasets_dir.iterdir())
    assert (
        httpx.get(
            f"{live_server.url}/datasets/{dataset.id}/", headers=live_server.headers()
        ).status_code
        == 404
    )


def test_versions_and_parquet(live_server: LiveServer) -> None:
    headers = live_server.headers()
    url = f"{live_server.url}/datasets/"
    first = httpx.post(f"{url}fromFile/", files={"file": ("a.csv", CSV)}, headers=headers)
    assert first.status_code == 202, first.text
    assert first.headers["location"].startswith(live_server.url)
    dataset_id = first.json()["catalogId"]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"num_a": [1.0], "num_b": [2.0]}), buffer)
    second = httpx.post(
        f"{url}{dataset_id}/versions/fromFile/",
        files={"file": ("b.parquet", buffer.getvalue())},
        headers=headers,
    )
    assert second.status_code == 202, second.text
    latest = httpx.get(f"{url}{dataset_id}/", headers=headers).json()
    assert latest["versionId"] == second.json()["catalogVersionId"]
    assert (latest["format"], latest["rowCount"], latest["columns"]) == (
        "parquet",
        1,
        ["num_a", "num_b"],
    )
    versions = httpx.get(f"{url}{dataset_id}/versions/", headers=headers).json()["data"]
    assert [v["isLatestVersion"] for v in versions] == [True, False]
    old = httpx.get(
        f"{url}{dataset_id}/versions/{first.json()['catalogVersionId']}/", headers=headers
    ).json()
    assert (old["format"], old["rowCount"]) == ("csv", 3)
    assert httpx.get(url, headers=headers).json()["totalCount"] == 1


def test_bad_uploads_are_422_and_leave_nothing(live_server: LiveServer) -> None:
    headers = live_server.headers()
    url = f"{live_server.url}/datasets/fromFile/"
    cases = [
        {"file": ("empty.csv", b"")},
        {"file": ("fake.parquet", b"not,parquet\n1,2\n")},
        {"file": ("broken.csv", b"a,b\n1,2,3,4\n")},
    ]
    for files in cases:
        response = httpx.post(url, files=files, headers=headers)
        assert response.status_code == 422, response.text
        assert "file" in response.json()["errors"]
    missing = httpx.post(url, data={"x": "y"}, headers=headers)
    assert missing.status_code == 422
    assert "file" in missing.json()["errors"]
    assert httpx.get(f"{live_server.url}/datasets/", headers=headers).json()["totalCount"] == 0
    assert not any(p.is_file() for p in live_server.settings.datasets_dir.rglob("*"))


def test_two_files_in_one_upload_are_refused(live_server: LiveServer) -> None:
    """The second ``file`` part replaced the first without a word; now neither is stored."""
    headers = live_server.headers()
    url = f"{live_server.url}/datasets/fromFile/"
    files = [("file", ("a.csv", b"a\n1\n")), ("file", ("b.csv", b"b\n2\n"))]
    response = httpx.post(url, files=files, headers=headers, timeout=60)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == {"file": "is given more than once"}
    listing = httpx.get(f"{live_server.url}/datasets/", headers=headers).json()
    assert listing["totalCount"] == 0


def test_csv_values_are_not_typed_at_upload(live_server: LiveServer) -> None:
    """A column that turns from numbers to text after the first blocks, and a Latin-1 file,
    are stored (the job's csvSettings decide how they are read)."""
    headers = live_server.headers()
    url = f"{live_server.url}/datasets/fromFile/"
    mixed = b"a,b\n" + b"".join(b"%d,1\n" % i for i in range(800_000)) + b"x,text\n"
    latin1 = "a,b\u00e9\n1,caf\u00e9\n".encode("latin-1")
    for name, content, rows, columns in [
        ("mixed.csv", mixed, 800_001, ["a", "b"]),
        ("latin1.csv", latin1, 1, ["a", "b\u00e9"]),
    ]:
        response = httpx.post(url, files={"file": (name, content)}, headers=headers, timeout=60)
        assert response.status_code == 202, response.text
        dataset_id = response.json()["catalogId"]
        body = httpx.get(f"{live_server.url}/datasets/{dataset_id}/", headers=headers).json()
        assert (body["rowCount"], body["columns"], body["datasetSize"]) == (
            rows,
            columns,
            len(content),
        )
