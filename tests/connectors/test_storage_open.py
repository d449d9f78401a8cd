"""Opening the storage (``SCORECAST_STORAGE_URL``): a URL or a folder that cannot be used is a
``StorageError`` naming it, before a server serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorecast.config import Settings
from scorecast.connectors.storage import StorageError, open_storage
from scorecast.connectors.storage.local import LocalBlobStore


def _settings(home: Path, storage_url: str) -> Settings:
    return Settings(home=home, database_url="", storage_url=storage_url)


@pytest.mark.parametrize("url", ["file://relative/x", "file://host/srv", "file://localhost"])
def test_a_file_url_without_an_absolute_local_folder_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(StorageError, match="must name an absolute folder as file:///folder"):
        open_storage(_settings(tmp_path, url))


def test_a_file_url_on_localhost_is_its_folder(tmp_path: Path) -> None:
    store = open_storage(_settings(tmp_path, f"file://localhost{tmp_path / 'shared'}"))
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path / "shared"


def test_a_file_where_a_storage_folder_belongs_is_named(tmp_path: Path) -> None:
    (tmp_path / "uploads").write_text("not a folder")
    store = LocalBlobStore(tmp_path, ("artifacts", "uploads"))
    with pytest.raises(StorageError) as caught:
        store.prepare()
    assert str(caught.value) == f"{tmp_path / 'uploads'}: not a folder (a file is in the way)"


def test_s3_storage_without_credentials_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("boto3")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(StorageError, match=r"s3://no-credentials/p/: no AWS credentials"):
        open_storage(_settings(tmp_path, "s3://no-credentials/p"))
