"""The retention sweep: results past their definition's retention leave the disk.

``sweep(settings, engine)``, run by every worker every ``RetentionSettings.sweep_seconds``:

1. marks up to ``batch`` jobs ``resultsDeleted`` (``service.retention``) and commits, so no
   download starts on them any more (a download then answers 410 Gone);
2. removes their files under ``$SCORECAST_HOME``: the ``localFile`` result
   (``results/<job>/``) and the uploaded input (``uploads/<job>/``);
3. prunes up to ``batch`` rows whose results were deleted ``prune_after_days`` ago, removing
   their files again first (a crash between 1 and 2 left them).

Outputs written to the user's own storage (S3, a database, a file root) are never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.service import retention
from scorecast.store.db import session_scope
from scorecast.store.types import utcnow

log = logging.getLogger("scorecast.worker")


@dataclass(frozen=True)
class Swept:
    """What one sweep did: jobs whose results it deleted, jobs whose rows it pruned."""

    results_deleted: list[str]
    rows_pruned: list[str]


def sweep(settings: Settings, engine: Engine, now: datetime | None = None) -> Swept:
    """One retention pass (see the module docstring)."""
    now = now or utcnow()
    server = settings.retention
    with session_scope(engine, immediate=True) as session:
        marked = retention.mark_expired_results(session, server, now, batch=server.batch)
    remove_files(settings, marked)
    with session_scope(engine, immediate=True) as session:
        pruned = retention.prunable_jobs(session, server, now, batch=server.batch)
        remove_files(settings, pruned)
        retention.prune_jobs(session, pruned)
    if marked or pruned:
        log.info(
            "retention: results of %d job(s) deleted, %d job row(s) pruned",
            len(marked),
            len(pruned),
        )
    return Swept(marked, pruned)


def remove_files(settings: Settings, job_ids: Iterable[str]) -> None:
    """Remove the uploads and results of ``job_ids`` from the storage (missing ones are fine)."""
    for job_id in job_ids:
        localfile_files.remove_job_files(settings, job_id)
