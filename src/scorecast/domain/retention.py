"""Which finished jobs lose their results under a retention policy (pure).

A retention (a definition's ``retention``, or the server's default when the definition's is
null) keeps the results of a job while both hold:

- it is among the ``max_jobs`` most recent jobs of its group (by creation; None: no limit);
- it finished less than ``max_age_days`` days ago (None: no limit).

With ``keep_last_successful`` the most recent COMPLETED job of the group keeps its results
whatever its rank or age. Only finished jobs lose results (a running or waiting job never does)
and a job whose results are already deleted is not chosen again. Once deleted, a job's row is
pruned ``grace`` later (``prunable``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

FINISHED: Final = frozenset({"COMPLETED", "ABORTED", "FAILED"})


@dataclass(frozen=True)
class Retention:
    """How long a group of jobs keeps its results (see the module docstring)."""

    max_jobs: int | None = None
    max_age_days: float | None = None
    keep_last_successful: bool = True

    @property
    def keeps_everything(self) -> bool:
        return self.max_jobs is None and self.max_age_days is None


@dataclass(frozen=True)
class RetainedJob:
    """What the decision needs to know of a job."""

    id: str
    created: datetime
    finished: datetime | None
    status: str
    results_deleted: bool = False


def results_to_delete(
    jobs: Iterable[RetainedJob], retention: Retention, now: datetime
) -> list[str]:
    """The ids of the jobs whose results go now, oldest first (see the module docstring)."""
    if retention.keeps_everything:
        return []
    newest_first = sorted(jobs, key=lambda job: (job.created, job.id), reverse=True)
    kept: str | None = None
    if retention.keep_last_successful:
        kept = next((job.id for job in newest_first if job.status == "COMPLETED"), None)
    cutoff = (
        now - timedelta(days=retention.max_age_days) if retention.max_age_days is not None else None
    )
    chosen: list[str] = []
    for rank, job in enumerate(newest_first):
        if job.results_deleted or job.status not in FINISHED or job.id == kept:
            continue
        beyond_count = retention.max_jobs is not None and rank >= retention.max_jobs
        finished = job.finished or job.created
        too_old = cutoff is not None and finished < cutoff
        if beyond_count or too_old:
            chosen.append(job.id)
    chosen.reverse()
    return chosen


def prunable(results_deleted_at: datetime | None, now: datetime, grace: timedelta) -> bool:
    """Whether a job whose results were deleted at ``results_deleted_at`` may lose its row."""
    return results_deleted_at is not None and now - results_deleted_at >= grace
