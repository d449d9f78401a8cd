"""``MemoryLedger``: a ``JobLedger`` in memory, for running ``JobRun`` without a worker or a
store (tests and benches), as a queue library ships its in-memory connector.

``plan`` answers the plan it was given (``JobFailure`` when None, as for a deleted deployment);
credentials come from ``credentials``; data stores and datasets are never found. Everything the
run stores (progress reports, logs, its end) is recorded in the lists; ``report`` answers
``answer`` (``"abort"``, ``"lost"``), so a test can stop a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scorecast.domain.job_claim import ProgressUpdate
from scorecast.errors import JobFailure
from scorecast.runtime.job_ledger import JobPlan


@dataclass
class MemoryLedger:
    """A ``JobLedger`` in memory (see the module docstring)."""

    job_plan: JobPlan | None
    answer: frozenset[str] = frozenset()
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: list[ProgressUpdate] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    finished: list[tuple[str, ProgressUpdate]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    released: list[str] = field(default_factory=list)

    def plan(self) -> JobPlan:
        if self.job_plan is None:
            raise JobFailure("the job's deployment no longer exists")
        return self.job_plan

    def credential(self, credential_id: str) -> dict[str, Any]:
        if credential_id not in self.credentials:
            raise JobFailure(f"credential {credential_id} not found")
        return self.credentials[credential_id]

    def data_store(self, data_store_id: str) -> dict[str, Any]:
        raise JobFailure(f"data store {data_store_id} not found")

    def dataset_path(self, dataset_id: str, version_id: str | None) -> str:
        raise JobFailure(f"dataset {dataset_id} not found")

    def report(self, update: ProgressUpdate) -> frozenset[str]:
        self.reports.append(update)
        return self.answer

    def log(self, message: str) -> None:
        self.logs.append(message)

    def finish(self, summary: str, progress: ProgressUpdate) -> bool:
        self.finished.append((summary, progress))
        return True

    def fail(self, status: str, message: str, progress: ProgressUpdate | None) -> None:
        self.failed.append((status, message))

    def release(self, reason: str) -> None:
        self.released.append(reason)
