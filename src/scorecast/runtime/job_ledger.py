"""What a job run reads from and writes to the store, as one interface: ``JobLedger``.

A job process never opens the store: it asks its worker, over the connection they share
(``job_process``), and the worker answers from the store (``store_ledger.StoreLedger``). So a
job process imports neither SQLAlchemy nor the store's models nor the secrets' cipher (about
30 MB less resident per running job), holds no database connection and never sees a
credential it does not use; and every write stays conditional on the worker's lease, as the
worker checks it in the same place as its heartbeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from scorecast.domain.job_claim import ProgressUpdate
from scorecast.domain.job_spec import JobSpec
from scorecast.domain.model_description import ModelDescription


@dataclass(frozen=True)
class JobPlan:
    """Everything a job run needs to start: its spec, its deployment's model and artifact."""

    #: parsed from the stored wire form, once, by the worker's ledger
    spec: JobSpec
    description: ModelDescription
    #: the model file's storage key (``home_layout``), or an absolute path used as it is
    artifact: str
    intake_size: int | None
    #: ISO 8601 with offset: the fire time of a scheduled run (None otherwise), and the
    #: job's creation time; they fill the location placeholders (``domain/location_templates``)
    scheduled_time: str | None
    #: the job's organization may use the server's own cloud identity (see ``Settings``)
    ambient_identity: bool = False
    created_time: str | None = None


class JobLedger(Protocol):
    """The store as one claimed job sees it.

    Lookups raise ``JobFailure`` / ``ConnectorError`` (what the job then fails with) when the
    object is gone. ``report`` and ``log`` never raise for a store that is briefly unreachable:
    a job goes on scoring; the next report tries again.
    """

    def plan(self) -> JobPlan:
        """The job's plan; ``JobFailure`` when the job or its deployment no longer exists."""
        ...

    def credential(self, credential_id: str) -> dict[str, Any]:
        """The decrypted fields of one of the job's organization's credentials."""
        ...

    def data_store(self, data_store_id: str) -> dict[str, Any]:
        """A data store of the job's organization: its type, canonical name and parameters."""
        ...

    def dataset_path(self, dataset_id: str, version_id: str | None) -> str:
        """The storage key of a dataset version's file (its latest when ``version_id`` is
        None)."""
        ...

    def report(self, update: ProgressUpdate) -> frozenset[str]:
        """Store the job's progress; what the job must act on: ``"lost"`` (another worker owns
        the job now: nothing was written) and ``"abort"`` (a user asked to abort it)."""
        ...

    def log(self, message: str) -> None:
        """Append a line to the job's logs."""
        ...

    def finish(self, summary: str, progress: ProgressUpdate) -> bool:
        """End the job COMPLETED (``statusDetails`` "Job completed at <time>: <summary>");
        False when the lease was lost (nothing written)."""
        ...

    def fail(self, status: str, message: str, progress: ProgressUpdate | None) -> None:
        """End the job ``ABORTED`` or ``FAILED`` with ``message``."""
        ...

    def release(self, reason: str) -> None:
        """Put the job back in the queue (the service is stopping)."""
        ...


#: the methods a job process may call on its worker's ledger
LEDGER_CALLS = frozenset(name for name in vars(JobLedger) if not name.startswith("_"))
