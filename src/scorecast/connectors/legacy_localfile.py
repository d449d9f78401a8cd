"""Bringing ``localFile`` files of the layout before segments into today's layout.

Before the storage layout (``home_layout``), a ``localFile`` job kept plain files in the home:

- ``results/<job>/result.csv``: the committed result; ``results/<job>/attempt-<n>.csv``: an
  attempt's output while it was written (debris once the server stopped);
- ``uploads/<job>/input.csv``: the whole uploaded input; ``uploads/<job>/parts/<n>.csv``: the
  parts of a multipart upload not yet joined.

``upgrade_legacy_files`` runs when a server starts on a local storage (the only place such files
exist; copy a home to an object store only after one start of this version on it). For each job
it moves the files into the new keys and then writes what commits them, so that a crash halfway
leaves a state that the next start completes (what commits a file is written first, from the
legacy file's size, and the move follows: a legacy file still there is moved again), and a
finished job's download works as before:

- a result becomes the single segment of attempt ``LEGACY_ATTEMPT`` (0: real attempts count from
  1, so it never meets one) and its ``result.json`` names it;
- an input becomes segment 0 of the job's input, with its ``input.complete`` marker;
- a part keeps its number (``parts/<n>``); an old attempt's staging file is removed: the job's
  next attempt writes its output anew.

Moves on a local folder are renames (no copy, whatever the size). A pass that ends leaves
``DONE_KEY``; later starts find it and look at nothing (no scan of every job's folder on each
start), since this release never writes the old names.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scorecast import home_layout as layout
from scorecast.connectors.storage import BlobStore
from scorecast.connectors.storage.local import LocalBlobStore

log = logging.getLogger("scorecast.storage")

#: the attempt number a converted result is committed under
LEGACY_ATTEMPT = 0
#: written once a pass moved everything: the store holds no legacy file any more
DONE_KEY = f"{layout.RESULTS}/.legacy-layout-moved"

_ID = re.compile(r"[0-9a-f]{24}")
_ATTEMPT_FILE = re.compile(r"attempt-\d+\.csv")
_PART_FILE = re.compile(r"(\d{1,5})\.csv")


@dataclass
class LegacyUpgrade:
    """What one upgrade moved or removed."""

    results: int = 0
    inputs: int = 0
    parts: int = 0
    removed: int = 0

    @property
    def changed(self) -> int:
        return self.results + self.inputs + self.parts + self.removed


def upgrade_legacy_files(store: BlobStore) -> LegacyUpgrade:
    """Move every legacy ``localFile`` file of a local ``store`` into today's layout (see the
    module docstring); nothing for a store that is not a local folder."""
    done = LegacyUpgrade()
    if not isinstance(store, LocalBlobStore) or store.size(DONE_KEY) is not None:
        return done
    root = store.root
    for folder in _job_folders(root / layout.RESULTS):
        _upgrade_results(store, folder, done)
    for folder in _job_folders(root / layout.UPLOADS):
        _upgrade_upload(store, folder, done)
    if done.changed:
        log.info(
            "moved files of the layout before segments: %d result(s), %d input(s), %d part(s); "
            "removed %d unfinished attempt output(s)",
            done.results,
            done.inputs,
            done.parts,
            done.removed,
        )
    store.put_bytes(DONE_KEY, f"{done}\n".encode())
    return done


def _job_folders(parent: Path) -> list[Path]:
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if p.is_dir() and _ID.fullmatch(p.name))


def _upgrade_results(store: BlobStore, folder: Path, done: LegacyUpgrade) -> None:
    job_id = folder.name
    for staging in sorted(folder.iterdir()):
        if staging.is_file() and _ATTEMPT_FILE.fullmatch(staging.name):
            staging.unlink()
            done.removed += 1
    legacy = folder / "result.csv"
    if not legacy.is_file():
        return
    stat = legacy.stat()
    written = datetime.fromtimestamp(stat.st_mtime, UTC)
    manifest = {
        "attempt": LEGACY_ATTEMPT,
        "segments": 1,
        "size": stat.st_size,
        "committedAt": f"{written:%Y-%m-%d %H:%M:%S} UTC",
    }
    store.put_bytes(layout.result_manifest(job_id), json.dumps(manifest).encode())
    _move(store, legacy, layout.segment_key(layout.attempt_segments(job_id, LEGACY_ATTEMPT), 0))
    done.results += 1


def _upgrade_upload(store: BlobStore, folder: Path, done: LegacyUpgrade) -> None:
    job_id = folder.name
    legacy = folder / "input.csv"
    if legacy.is_file():
        marker = layout.input_marker(job_id, layout.COMPLETE)
        store.put_bytes(marker, str(legacy.stat().st_size).encode())
        _move(store, legacy, layout.segment_key(layout.input_segments(job_id), 0))
        done.inputs += 1
    parts = folder / "parts"
    if parts.is_dir():
        for part in sorted(parts.iterdir()):
            match = _PART_FILE.fullmatch(part.name)
            if part.is_file() and match:
                _move(store, part, layout.part_key(job_id, int(match.group(1))))
                done.parts += 1


def _move(store: BlobStore, source: Path, key: str) -> None:
    target = store.local_path(key)
    assert target is not None  # a local store (checked by the caller)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
