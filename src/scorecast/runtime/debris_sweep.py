"""The periodic sweep of crash debris: staged output that no attempt will commit or abort.

An attempt removes what it staged when it fails (``Output.abort``), and a retried attempt
removes what earlier attempts of its job left (``Output.remove_debris``). What remains is the
staging of attempts that died with no retry to follow (their server crashed for the last time,
their job process was killed and the job ended FAILED, the job was deleted). The worker sweeps
it every ``Settings.debris_sweep_seconds``:

- staging files of ``filesystem`` outputs under every file root
  (``.<target>.scorecast-<job>.<attempt>.<random>.part``, see ``connectors.filesystem``);
- ``localFile`` output segments in storage (``results/<job>/attempt-<n>/``, see
  ``home_layout``) of attempts that did not commit.

A file is removed when its job is finished or gone, or when its attempt is older than the job's
current one; the staging of a job's current attempt and a committed result are never touched.
Object stores keep their own: an unfinished S3 multipart upload of a job that is not retried is
aborted by the bucket's lifecycle rule (``AbortIncompleteMultipartUpload``), Azure drops
uncommitted blocks and GCS expires upload sessions after a week.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.connectors.filesystem import staging_owner
from scorecast.service import claims
from scorecast.store.db import session_scope

log = logging.getLogger("scorecast.worker")


def sweep(settings: Settings, engine: Engine) -> int:
    """Remove the debris described in the module docstring; the number of files (for
    ``localFile``: attempts) removed."""
    found = list(_staging_files(settings))
    attempts = _written_attempts(settings)
    if not found and not attempts:
        return 0
    jobs = {job for _, job, _ in found} | {job for job, _ in attempts}
    with session_scope(engine, deferred=True) as session:
        current = claims.attempts_in_flight(session, jobs)
    removed = 0
    for path, job_id, attempt in found:
        if job_id in current and attempt >= current[job_id]:
            continue  # the job's current attempt may still be writing it
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("could not remove crash debris %s: %s", path, exc.strerror)
            continue
        removed += 1
    removed += _sweep_attempts(settings, attempts, current)
    if removed:
        log.info("removed %d staging file(s) that crashed attempts left", removed)
    return removed


def _written_attempts(settings: Settings) -> set[tuple[str, int]]:
    """(job id, attempt) of every ``localFile`` output in storage."""
    found = set()
    for key in localfile_files.storage(settings).keys(f"{home_layout.RESULTS}/"):
        owner = home_layout.attempt_of_segment(key)
        if owner is not None:
            found.add(owner)
    return found


def _sweep_attempts(
    settings: Settings, attempts: set[tuple[str, int]], current: dict[str, int]
) -> int:
    removed = 0
    committed: dict[str, int | None] = {}
    for job_id, attempt in sorted(attempts):
        if job_id in current and attempt >= current[job_id]:
            continue  # the job's current attempt may still be writing it
        if job_id not in committed:  # read after ``current``: a commit precedes COMPLETED
            result = localfile_files.committed_result(settings, job_id)
            committed[job_id] = result.attempt if result is not None else None
        if committed[job_id] == attempt:
            continue  # the job's result
        localfile_files.discard_attempt(settings, job_id, attempt)
        removed += 1
    return removed


def _staging_files(settings: Settings) -> Iterator[tuple[Path, str, int]]:
    """(path, job id, attempt) of every ``filesystem`` staging file on this machine."""
    for root in settings.file_roots:
        for folder, _, names in os.walk(root):
            for name in names:
                owner = staging_owner(name)
                if owner is not None:
                    yield Path(folder) / name, owner.job_id, owner.attempt
