"""The storage contract (``connectors.storage.base.BlobStore``), one suite over every store: a
local folder, S3 (moto server), Azure (Azurite) and GCS (gcp-storage-emulator)."""

from __future__ import annotations

import gc
import io
import secrets
from collections.abc import Iterator
from pathlib import Path

import emulators
import pytest

from scorecast.connectors.storage import BlobMissing, BlobStore, StorageError
from scorecast.connectors.storage.base import BLOCK_BYTES
from scorecast.connectors.storage.local import LocalBlobStore
from scorecast.connectors.storage.segments import SegmentReader, SegmentWriter

STORES = ["local", "s3", "azure", "gcs"]


def _s3(server: emulators.Running, monkeypatch: pytest.MonkeyPatch, bucket: str) -> BlobStore:
    import boto3

    from scorecast.connectors.storage.s3 import S3BlobStore

    for name, value in {
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=bucket)
    return S3BlobStore(bucket, "some/prefix")


def _azure(server: emulators.Running, monkeypatch: pytest.MonkeyPatch, name: str) -> BlobStore:
    from azure.storage.blob import BlobServiceClient

    from scorecast.connectors.storage.azure import AzureBlobStore

    connection = emulators.azurite_connection_string(server.port)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
    BlobServiceClient.from_connection_string(connection).create_container(name)
    return AzureBlobStore(name, "some/prefix")


def _gcs(server: emulators.Running, monkeypatch: pytest.MonkeyPatch, name: str) -> BlobStore:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from scorecast.connectors.storage.gcs import GcsBlobStore

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.endpoint)
    client = storage.Client(
        project="scorecast",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": server.endpoint},
    )
    client.create_bucket(name)
    return GcsBlobStore(name, "some/prefix")


@pytest.fixture(params=STORES)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlobStore]:
    name = f"store-{secrets.token_hex(4)}"
    if request.param == "local":
        local = LocalBlobStore(tmp_path / "storage", ("results",))
        local.prepare()
        yield local
    elif request.param == "s3":
        yield _s3(request.getfixturevalue("moto_server"), monkeypatch, name)
    elif request.param == "azure":
        yield _azure(request.getfixturevalue("azurite_server"), monkeypatch, name)
    else:
        yield _gcs(request.getfixturevalue("gcs_server"), monkeypatch, name)


class _Source(io.RawIOBase):
    """``size`` bytes produced block by block (never whole), failing at ``fail_at`` if set."""

    def __init__(self, size: int, fail_at: int | None = None) -> None:
        self.size, self.fail_at, self.position = size, fail_at, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        view = memoryview(buffer).cast("B")  # type: ignore[arg-type]
        if self.fail_at is not None and self.position >= self.fail_at:
            raise OSError("the source broke off")
        count = min(len(view), self.size - self.position)
        view[:count] = bytes((self.position + i) % 251 for i in range(count))
        self.position += count
        return count


def _expected(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


def test_a_large_object_round_trips_in_blocks(store: BlobStore) -> None:
    size = BLOCK_BYTES + 12_345  # more than one part
    assert store.put("artifacts/a/model.onnx", _Source(size)) == size
    assert store.size("artifacts/a/model.onnx") == size
    with store.open_from("artifacts/a/model.onnx") as stream:
        first = stream.read(1000)
        assert first == _expected(1000)
    with store.open_from("artifacts/a/model.onnx", size - 10) as stream:
        assert stream.read() == _expected(size)[-10:]
    with store.open_from("artifacts/a/model.onnx", size) as stream:
        assert stream.read() == b""


def test_missing_objects(store: BlobStore) -> None:
    assert store.size("results/none/result.json") is None
    with pytest.raises(BlobMissing):
        store.open_from("results/none/result.json")
    with pytest.raises(BlobMissing):
        store.read_bytes("results/none/result.json")
    store.delete("results/none/result.json")  # nothing to delete is fine
    store.delete_prefix("results/none/")


def test_keys_list_a_prefix_sorted_and_delete_prefix_removes_them(store: BlobStore) -> None:
    for key in ("results/j1/attempt-2/000001", "results/j1/attempt-2/000000", "results/j2/x"):
        store.put_bytes(key, key.encode())
    assert store.keys("results/j1/") == [
        "results/j1/attempt-2/000000",
        "results/j1/attempt-2/000001",
    ]
    assert store.read_bytes("results/j2/x") == b"results/j2/x"
    store.delete_prefix("results/j1/")
    assert store.keys("results/") == ["results/j2/x"]
    store.put_bytes("results/j2/x", b"replaced")
    assert store.read_bytes("results/j2/x") == b"replaced"


def test_a_write_that_breaks_off_leaves_no_object(store: BlobStore) -> None:
    with pytest.raises((OSError, StorageError)):
        store.put("datasets/d/v.csv", _Source(BLOCK_BYTES * 2, fail_at=BLOCK_BYTES + 5))
    # an upload left open would be finished by its writer's finalizer (GCS: the blocks sent)
    gc.collect()
    assert store.size("datasets/d/v.csv") is None
    assert store.keys("datasets/") == []


def test_a_reachable_store_is_ready(store: BlobStore) -> None:
    store.check()


def test_segments_are_read_as_far_as_they_are_written(store: BlobStore) -> None:
    writer = SegmentWriter(store, "uploads/j/input/", segment_bytes=5)
    reader = SegmentReader(store, "uploads/j/input/")
    assert reader.read(100) == b""  # nothing yet: the caller waits
    writer.write(b"abcdefg")  # one whole segment (5 bytes), 2 bytes buffered
    assert reader.read(100) == b"abcde"
    assert reader.read(100) == b""
    writer.publish()
    assert reader.read(100) == b"fg"
    assert (writer.segments, writer.size) == (2, 7)
    reader.close()
    whole = SegmentReader(store, "uploads/j/input/", last=2)
    assert whole.read(3) + whole.read(100) + whole.read(100) == b"abcdefg"
    whole.close()


def test_a_local_key_cannot_leave_the_folder(tmp_path: Path) -> None:
    local = LocalBlobStore(tmp_path / "storage")
    for bad in ("../outside", "results/../../x", "", "results//x"):
        with pytest.raises(StorageError):
            local.put_bytes(bad, b"x")
    assert not (tmp_path / "outside").exists()
