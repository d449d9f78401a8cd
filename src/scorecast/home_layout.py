"""Where every file of scorecast lives: the one module that knows the layout.

Two places hold files:

- **the home** (``$SCORECAST_HOME``, one per server, never shared): the SQLite store
  (``scorecast.db``, when no ``SCORECAST_DATABASE_URL`` is set), the credential key
  (``secret.key``), ``cache/``: local copies of stored files a job reads whole (model
  artifacts), which can be deleted at any time, and ``cache/incoming/``, uploads being
  received or checked before they are kept; ``demo/``: the files of ``serve --demo``.
- **the storage** (``SCORECAST_STORAGE_URL``; by default the home itself, so one server keeps
  today's folders): everything servers must share. Its keys, relative to the storage's root:

  - ``artifacts/<deployment id>/model<suffix>``: a deployment's model file (never rewritten:
    a key is written once, so a cached copy stays valid for as long as the key exists), and
    ``model<suffix>.prepared``, its signed prepared form when its format has one
    (``predictors.prepared``, which verifies it before use);
  - ``datasets/<dataset id>/<version id>.<csv|parquet>``: a dataset version's file;
  - ``uploads/<job id>/input/<n>``: a ``localFile`` job's uploaded input as numbered segments
    (``SEGMENT_DIGITS`` digits), each written whole; ``uploads/<job id>/input.complete`` (the
    size) once every segment is there, ``input.failed`` (the reason) when the upload broke off,
    ``input.expected`` (the announced size) while it streams in;
  - ``uploads/<job id>/parts/<n>``: the parts of a multipart upload before they are joined;
  - ``results/<job id>/attempt-<n>/<m>``: the output of attempt ``n`` as numbered segments,
    written as the job goes (a download follows them), and ``results/<job id>/result.json``:
    the commit, naming the attempt whose segments are the result (one atomic write: a result
    is visible only once committed).

Every id is checked before a key is built from it (``NotFound`` otherwise), so no key ever
holds a caller's text. This module does no I/O.
"""

from __future__ import annotations

import re
from pathlib import Path

from scorecast.errors import InvalidInput, NotFound

#: files of the home (local to one server)
DATABASE_FILE = "scorecast.db"
SECRET_KEY_FILE = "secret.key"
CACHE_FOLDER = "cache"
INCOMING_FOLDER = "incoming"
DEMO_FOLDER = "demo"

#: the suffix of a model's prepared form, next to it (``predictors.prepared.SUFFIX``)
PREPARED_SUFFIX = ".prepared"

#: top-level folders of the storage
ARTIFACTS, DATASETS, UPLOADS, RESULTS = "artifacts", "datasets", "uploads", "results"
STORAGE_FOLDERS = (ARTIFACTS, DATASETS, UPLOADS, RESULTS)

#: digits of a segment's number (segments sort by name)
SEGMENT_DIGITS = 6
MAX_PARTS = 10_000

#: markers of an uploaded input (``uploads/<job>/input.<marker>``)
COMPLETE, FAILED, EXPECTED = "complete", "failed", "expected"

_ID = re.compile(r"[0-9a-f]{24}")
_SUFFIX = re.compile(r"(\.[a-z0-9]{1,12})?")
_ATTEMPT_FOLDER = re.compile(r"attempt-(\d+)")


def _job(job_id: str) -> str:
    if not _ID.fullmatch(job_id):
        raise NotFound(f"batch prediction job {job_id} not found", {"predictionJobId": "not found"})
    return job_id


def _object(kind: str, identifier: str) -> str:
    if not _ID.fullmatch(identifier):
        raise NotFound(f"{kind} {identifier} not found", {f"{kind}Id": "not found"})
    return identifier


# --- the home ---------------------------------------------------------------------------------


def database_file(home: Path) -> Path:
    return home / DATABASE_FILE


def secret_key_file(home: Path) -> Path:
    return home / SECRET_KEY_FILE


def cache_folder(home: Path) -> Path:
    return home / CACHE_FOLDER


def incoming_folder(home: Path) -> Path:
    """Where uploads are received (and checked) before the storage keeps them."""
    return cache_folder(home) / INCOMING_FOLDER


def demo_folder(home: Path) -> Path:
    return home / DEMO_FOLDER


def local_storage_folder(home: Path, folder: str) -> Path:
    """One of ``STORAGE_FOLDERS`` when the storage is the home (the default)."""
    if folder not in STORAGE_FOLDERS:
        raise ValueError(f"not a storage folder: {folder!r}")
    return home / folder


# --- the storage ------------------------------------------------------------------------------


def artifact_key(deployment_id: str, suffix: str) -> str:
    """The key of a deployment's model file (``suffix``: ``.onnx``, ``.skops``, or empty)."""
    if not _SUFFIX.fullmatch(suffix):
        raise InvalidInput.at("file", "has an unusable suffix")
    return f"{ARTIFACTS}/{_object('deployment', deployment_id)}/model{suffix}"


def artifact_folder(deployment_id: str) -> str:
    return f"{ARTIFACTS}/{_object('deployment', deployment_id)}/"


def artifact_key_of(stored: str) -> str:
    """The key of ``Deployment.artifact_path`` (stored relative to ``artifacts/``)."""
    return f"{ARTIFACTS}/{stored}"


def stored_artifact_path(key: str) -> str:
    """``Deployment.artifact_path`` for an artifact key (the inverse of ``artifact_key_of``)."""
    return key.removeprefix(f"{ARTIFACTS}/")


def dataset_key(dataset_id: str, version_id: str, file_format: str) -> str:
    if file_format not in ("csv", "parquet"):
        raise InvalidInput.at("file", "is neither CSV nor Parquet")
    dataset, version = _object("dataset", dataset_id), _object("datasetVersion", version_id)
    return f"{DATASETS}/{dataset}/{version}.{file_format}"


def dataset_folder(dataset_id: str) -> str:
    return f"{DATASETS}/{_object('dataset', dataset_id)}/"


def dataset_key_of(stored: str) -> str:
    """The key of ``DatasetVersion.path`` (stored relative to ``datasets/``)."""
    return f"{DATASETS}/{stored}"


def stored_dataset_path(key: str) -> str:
    return key.removeprefix(f"{DATASETS}/")


def upload_folder(job_id: str) -> str:
    return f"{UPLOADS}/{_job(job_id)}/"


def input_segments(job_id: str) -> str:
    """The prefix of a job's uploaded input segments."""
    return f"{upload_folder(job_id)}input/"


def input_marker(job_id: str, marker: str) -> str:
    if marker not in (COMPLETE, FAILED, EXPECTED):
        raise ValueError(f"unknown input marker {marker!r}")
    return f"{upload_folder(job_id)}input.{marker}"


def part_key(job_id: str, number: int) -> str:
    if not 0 <= number < MAX_PARTS:
        raise InvalidInput.at("partNumber", f"must be between 0 and {MAX_PARTS - 1}")
    return f"{upload_folder(job_id)}parts/{number:05d}"


def parts_folder(job_id: str) -> str:
    return f"{upload_folder(job_id)}parts/"


def result_folder(job_id: str) -> str:
    return f"{RESULTS}/{_job(job_id)}/"


def attempt_segments(job_id: str, attempt: int) -> str:
    """The prefix of the output segments of a job's attempt."""
    return f"{result_folder(job_id)}attempt-{int(attempt)}/"


def result_manifest(job_id: str) -> str:
    """The key whose existence commits a job's result (it names the attempt)."""
    return f"{result_folder(job_id)}result.json"


def segment_key(prefix: str, number: int) -> str:
    return f"{prefix}{number:0{SEGMENT_DIGITS}d}"


def job_folders(job_id: str) -> tuple[str, str]:
    """Every prefix holding a job's files (its upload and its results)."""
    return upload_folder(job_id), result_folder(job_id)


def attempt_of_segment(key: str) -> tuple[str, int] | None:
    """(job id, attempt) of a key under ``results/<job>/attempt-<n>/``; None for other keys."""
    parts = key.split("/")
    if len(parts) < 4 or parts[0] != RESULTS or not _ID.fullmatch(parts[1]):
        return None
    match = _ATTEMPT_FOLDER.fullmatch(parts[2])
    return (parts[1], int(match.group(1))) if match else None
