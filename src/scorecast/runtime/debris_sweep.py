"""The periodic sweep of crash debris: staged output that no attempt will commit or abort.

An attempt removes what it staged when it fails (``Output.abort``), and a retried attempt
removes what earlier attempts of its job left (``Output.remove_debris``). What remains is the
staging of attempts that died with no retry to follow (their server crashed for the last time,
their job process was killed and the job ended FAILED, the job was deleted). The worker sweeps
it every ``Settings.debris_sweep_seconds``:

- staging files of ``filesystem`` outputs under every file root
  (``.<target>.scorecast-<job>.<attempt>.<random>.part``, see ``connectors.filesystem``);
- ``localFile`` staging files (``results/<job>/attempt-<n>.csv``).

A file is removed when its job is finished or gone, or when its attempt is older than the job's
current one; the staging of a job's current attempt is never touched. Object stores keep their
own: an unfinished S3 multipart upload of a job that is not retried is aborted by the bucket's
lifecycle rule (``AbortIncompleteMultipartUpload``), Azure drops uncommitted blocks and GCS
expires upload sessions after a week.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine

from scorecast.config import Settings
from scorecast.connectors.filesystem import staging_owner
from scorecast.service import claims
from scorecast.store.db import session_scope

log = logging.getLogger("scorecast.worker")

_LOCAL_STAGING = re.compile(r"^attempt-(\d+)\.csv$")


def sweep(settings: Settings, engine: Engine) -> int:
    """Remove the debris described in the module docstring; the number of files removed."""
    found = list(_staging_files(settings))
    if not found:
        return 0
    with session_scope(engine, deferred=True) as session:
        current = claims.attempts_in_flight(session, {job for _, job, _ in found})
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
    if removed:
        log.info("removed %d staging file(s) that crashed attempts left", removed)
    return removed


def _staging_files(settings: Settings) -> Iterator[tuple[Path, str, int]]:
    """(path, job id, attempt) of every staging file of a job output on this machine."""
    for root in settings.file_roots:
        for folder, _, names in os.walk(root):
            for name in names:
                owner = staging_owner(name)
                if owner is not None:
                    yield Path(folder) / name, owner.job_id, owner.attempt
    results = settings.results_dir
    if results.is_dir():
        for job_folder in results.iterdir():
            if not job_folder.is_dir():
                continue
            for staged in job_folder.iterdir():
                match = _LOCAL_STAGING.match(staged.name)
                if match:
                    yield staged, job_folder.name, int(match.group(1))
