"""The size of the scheduler's next batch: about a target time of work per transaction.

A batch's cost is mostly per definition (its decision, its rows) plus a fixed part per batch
(the reads of the batch's state, a commit): small batches waste time on the fixed part, large
ones hold their transaction long. On SQLite a batch holds the store's write lock for its whole
transaction, so API writes wait for at most one batch; on PostgreSQL it holds the row locks of
its definitions, and a second scheduler takes the next batch beside it.

``BatchSizer`` keeps each batch near ``target_seconds``: the next size is the last batch's
rate (definitions per second, measured) times the target, at most twice the last size (a
first fast batch of a few definitions says little), within ``[smallest, largest]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: The target time of one batch on SQLite (the write lock's hold) and on PostgreSQL. On SQLite
#: each commit writes every page the batch dirtied (a thousand fires dirty thousands of pages
#: of random-keyed indexes): at 0.15 s the commits were a third of a burst's time.
SQLITE_TARGET_SECONDS: Final = 0.25
POSTGRESQL_TARGET_SECONDS: Final = 0.5
#: The bounds of a batch, in definitions.
SMALLEST: Final = 100
LARGEST: Final = 5_000
#: A scheduler's first batch, before it has measured its store: about 0.05-0.1 s of work on
#: either store on a 2-core machine (starting at the smallest spent a burst's first quarter
#: second on batches of 100 and 200, each paying a batch's fixed cost).
FIRST: Final = 500


@dataclass
class BatchSizer:
    """The next batch's size (``size``), adjusted after each batch (``observe``)."""

    target_seconds: float
    smallest: int = SMALLEST
    largest: int = LARGEST
    size: int = SMALLEST

    def observe(self, handled: int, seconds: float) -> None:
        """A batch handled ``handled`` definitions in ``seconds`` (of real time)."""
        if handled <= 0:
            return
        rate = handled / max(seconds, 1e-6)
        wanted = int(rate * self.target_seconds)
        self.size = max(self.smallest, min(wanted, 2 * max(handled, self.size), self.largest))


def sizer_for(dialect: str) -> BatchSizer:
    """The sizer for a store (``Engine.dialect.name``)."""
    target = SQLITE_TARGET_SECONDS if dialect == "sqlite" else POSTGRESQL_TARGET_SECONDS
    return BatchSizer(target, size=FIRST)
