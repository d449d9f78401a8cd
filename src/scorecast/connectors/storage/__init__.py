"""The storage that servers share: model artifacts, uploads, results and dataset files.

``open_storage(settings)`` is the ``BlobStore`` of ``settings.storage_url``
(``SCORECAST_STORAGE_URL``): the home folder by default (``LocalBlobStore``), ``file:///path``
for another folder (a shared file system), ``s3://bucket/prefix`` (``S3BlobStore``),
``az://container/prefix`` or ``azure://…`` (``AzureBlobStore``), ``gs://bucket/prefix``
(``GcsBlobStore``). Cloud stores need their extra (``scorecast[s3]``, ``[azure]``, ``[gcp]``),
imported only when such a URL is set. One store per process and URL. Keys come from
``scorecast.home_layout``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from scorecast.config import Settings, file_storage_folder
from scorecast.connectors.storage.base import BlobMissing, BlobStore, StorageError
from scorecast.errors import InvalidInput
from scorecast.home_layout import STORAGE_FOLDERS

__all__ = ["BlobMissing", "BlobStore", "StorageError", "open_storage"]

_LOCK = threading.Lock()
_OPEN: dict[tuple[str, str], BlobStore] = {}


def open_storage(settings: Settings) -> BlobStore:
    """The storage of ``settings`` (see the module docstring); ``MissingExtra`` when the URL's
    client library is not installed, ``StorageError`` when the URL is unusable."""
    cache_key = (settings.storage_url, str(settings.home))
    with _LOCK:
        store = _OPEN.get(cache_key)
        if store is None:
            store = _OPEN[cache_key] = _open(settings)
        return store


def _open(settings: Settings) -> BlobStore:
    url = settings.storage_url
    if not url:
        from scorecast.connectors.storage.local import LocalBlobStore

        return LocalBlobStore(settings.home, STORAGE_FOLDERS)
    parts = urlsplit(url)
    scheme, place, prefix = parts.scheme.lower(), parts.netloc, unquote(parts.path)
    if scheme == "file":
        from scorecast.connectors.storage.local import LocalBlobStore

        try:
            folder = file_storage_folder(url)
        except InvalidInput as exc:
            raise StorageError(exc.message) from None
        return LocalBlobStore(Path(folder), STORAGE_FOLDERS)
    if not place:
        raise StorageError(f"SCORECAST_STORAGE_URL {url!r} names no bucket or container")
    if scheme == "s3":
        from scorecast.connectors.storage.s3 import S3BlobStore

        return S3BlobStore(place, prefix)
    if scheme in ("az", "azure"):
        from scorecast.connectors.storage.azure import AzureBlobStore

        return AzureBlobStore(place, prefix)
    if scheme in ("gs", "gcs"):
        from scorecast.connectors.storage.gcs import GcsBlobStore

        return GcsBlobStore(place, prefix)
    raise StorageError(f"SCORECAST_STORAGE_URL: unknown scheme {scheme!r}")
