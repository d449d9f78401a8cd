"""The intake and output protocols every connector implements.

An **intake** produces the job's input as an ordered sequence of chunks; an **output** receives
the scored batches in input order and makes them visible only on ``commit()``.

Chunks come in two kinds, so that the expensive CSV parse can run in the scoring workers
(several processes) rather than in the reader:

- ``CsvBlock``: raw bytes of whole CSV lines (never a partial line) plus the header line and
  the CSV settings; ``scorecast.formats.decode_csv_block`` turns it into a record batch.
- ``pyarrow.RecordBatch``: already decoded rows (Parquet files, SQL result sets).

Contracts:

- Memory: an intake holds at most one chunk of about ``target_bytes`` (plus a bounded read
  buffer) at a time; it never reads the whole input into memory or onto disk.
- Size: ``target_bytes`` is a fixed number or, for a dynamic chunk size, a callable asked
  once before each chunk is cut (the answer may differ from chunk to chunk).
- Order: chunks are yielded in input order; outputs receive batches in that same order.
- Atomicity: nothing an output writes is visible at its destination before ``commit()``;
  ``abort()`` removes whatever was staged and is safe to call after a failed ``commit()``,
  twice, or without any write. A retried attempt creates a new output of its own.
- Exactly once across attempts: every attempt of one job opens its output with the same
  ``ConnectorContext.output_token`` (the job id). ``commit()`` records the token at the
  destination atomically with the result (a marker row in the same transaction, object
  metadata, a file's extended attribute), and ``committed_before()`` finds it: a retry whose
  job's output is already committed records completion without writing again. A commit that
  finds another attempt's record raises ``OutputAlreadyCommitted`` and changes nothing.
  ``docs/concepts/exactly-once-outputs.md`` says what each connector guarantees.
- Errors: every failure is raised as ``scorecast.errors.ConnectorError`` whose message names
  the location (bucket/key, table, path) and the cause, and never contains a secret.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from scorecast.config import Settings
    from scorecast.connectors.checks import Side
    from scorecast.domain.csv_settings import CsvSettings

    # only annotations here: importing ``scorecast.formats`` would load pyarrow into the
    # service process, which validates connector settings but never reads data
    from scorecast.formats.chunks import Chunk, ChunkBytes


@dataclass(frozen=True)
class OutputToken:
    """The idempotency key of a job's output: ``job_id`` is the same for every attempt."""

    job_id: str
    attempt: int


@dataclass
class ConnectorContext:
    """What a connector may need from the service, resolved within the job's organization.

    ``credential(id)`` returns the decrypted secret fields of a credential (raises
    ``ConnectorError`` when it is gone); ``data_store(id)`` returns a data store's params;
    ``dataset_path(id, version)`` the stored file of a dataset version. ``template`` holds
    the values of the location placeholders (``{scheduled_time}`` ...; names and meanings in
    ``scorecast.domain.location_templates``; times as ISO 8601 strings).
    ``ambient_identity``: the job may use the server's own cloud identity (environment keys,
    instance role, default credentials) when it gives no keys; when False, such a job's object
    store requests are anonymous (``SCORECAST_AMBIENT_CLOUD_IDENTITY_ORGS``).
    ``output_token`` is set for a job's output (None outside a job: no record is kept).
    ``app_settings`` are the server's settings (file roots, private endpoints, the storage).
    """

    credential: Callable[[str], Mapping[str, Any]]
    data_store: Callable[[str], Mapping[str, Any]]
    dataset_path: Callable[[str, str | None], Any]
    app_settings: Settings
    template: Mapping[str, str] = field(default_factory=dict)
    ambient_identity: bool = False
    output_token: OutputToken | None = None


class Intake(ABC):
    """A source of input rows. Instances are single-use: ``chunks()`` is called once."""

    #: where the rows come from, for messages and logs (never containing a secret)
    location: str = ""
    #: set by the engine: an intake that waits for rows still to arrive (an upload streaming
    #: in) calls it at least every 0.1 s while it waits, so the job reports its progress and
    #: sees an abort; it may raise, and the intake lets that through
    waiting: Callable[[], None] | None = None

    def header(self) -> list[str] | None:
        """Column names if known without reading rows (used for the 422 at submit), else None."""
        return None

    @abstractmethod
    def chunks(self, target_bytes: ChunkBytes) -> Iterator[Chunk]:
        """Yield the input in order, each chunk about ``target_bytes`` of input.

        A callable ``target_bytes`` is asked once per chunk, when the chunk is about to be cut.
        """

    @property
    def bytes_read(self) -> int:
        """Bytes of input consumed so far (``jobIntakeSize`` once the intake is exhausted)."""
        return 0

    @property
    def size(self) -> int | None:
        """Total bytes ``bytes_read`` will reach, if known without reading (progress, ETA)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files; called once, also after errors."""


class Output(ABC):
    """A destination for scored rows, atomic on ``commit()``."""

    location: str = ""

    @abstractmethod
    def write(self, batch: pa.RecordBatch) -> None:
        """Stage ``batch``; batches arrive in input order and share one schema."""

    @abstractmethod
    def commit(self) -> None:
        """Make everything staged visible at the destination at once."""

    @abstractmethod
    def abort(self) -> None:
        """Discard everything staged; leave the destination as it was. Idempotent."""

    def committed_before(self) -> str | None:
        """Which earlier attempt of this job committed at the destination (``"attempt 1 at
        2026-01-01 10:00:00 UTC"``), or None when none did or the connector cannot tell (its
        commit then replaces the destination as a whole, so writing again is harmless).
        Asked before the first write; needs ``ConnectorContext.output_token``."""
        return None

    def remove_debris(self) -> None:  # noqa: B027 - optional hook
        """Remove what earlier attempts of this job left staged at the destination (an attempt
        that died could not ``abort()``). Called before a retried attempt writes."""

    @property
    def bytes_written(self) -> int:
        return 0


class Connector(Protocol):
    """One connector type (``filesystem``, ``s3``, ...): a module of ``scorecast.connectors``
    with these three functions, listed once in ``connectors.registry.CONNECTORS``.

    Names: ``config`` / ``intake`` / ``output`` are the job's ``intakeSettings`` or
    ``outputSettings`` object (the wire's names), ``app_settings`` the server's ``Settings``,
    ``csv`` the job's CSV dialect.
    """

    def validate(
        self, config: Mapping[str, Any], side: Side, app_settings: Settings
    ) -> dict[str, Any]:
        """The submit-time check of ``config`` for ``side``: pure (no network, no files), it
        returns the settings as they are kept and raises ``InvalidInput`` whose ``errors`` map
        keys of ``config`` to their problems (the registry nests them under the side's key).
        It is also run again, with the placeholders filled, when a job opens the connector."""
        ...

    def open_intake(
        self, intake: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings
    ) -> Intake:
        """The intake of validated ``intake`` settings; nothing is read before ``chunks()``
        beyond what resolving the location needs. Failures raise ``ConnectorError``."""
        ...

    def open_output(
        self, output: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings
    ) -> Output:
        """The output of validated ``output`` settings, staged until ``commit()``; an
        intake-only type raises ``UnsupportedFeature`` (the registry never asks it)."""
        ...
