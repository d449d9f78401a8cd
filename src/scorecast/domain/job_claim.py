"""A worker's claim on a job and the progress a running job reports (plain values, so that
a job process can hold them without the store)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """The job a worker now owns: ``attempt`` identifies this try (1 for the first)."""

    job_id: str
    attempt: int
    worker_id: str
    retried: bool

    @property
    def id(self) -> str:
        """The job's id (an alias of ``job_id``)."""
        return self.job_id


@dataclass(frozen=True)
class ProgressUpdate:
    """Counters a running job reports; ``None`` leaves a value as it is."""

    percentage: float | None = None
    scored_rows: int | None = None
    failed_rows: int | None = None
    skipped_rows: int | None = None
    intake_size: int | None = None
    output_size: int | None = None
    rows_per_second: float | None = None
    eta_seconds: float | None = None
    status_details: str | None = None
