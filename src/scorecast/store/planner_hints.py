"""``planner_avoids(session, "sort", "seqscan")``: one statement planned without a method.

The scheduler's batch statements find a few hundred to a few thousand rows by key in tables
that a burst of fires is growing (100,000 jobs, fire rows and updated definitions in seconds).
PostgreSQL's statistics lag such a burst (autovacuum analyzes a minute later at best), so it
plans these statements for the table it last analyzed: a bitmap scan and a sort of every due
definition for each batch, a sequential scan of every definition to find a batch's thousand by
id. Each batch then costs in proportion to the table, and a burst in proportion to its square.

Within the block, PostgreSQL treats the named methods (``enable_<method>``) as a last resort,
for the caller's transaction only (``set_config(..., is_local => true)``); the settings are
restored when the block ends. A statement still runs if no other plan exists. Use it only for
statements whose good plan is known (an index read by key or in the index's order). Nothing is
done on other stores (SQLite plans these statements by their indexes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import text
from sqlalchemy.orm import Session

#: The planner methods this module may switch off (``enable_<name>`` settings).
METHODS: Final = frozenset({"sort", "seqscan", "bitmapscan"})


@contextmanager
def planner_avoids(session: Session, *methods: str) -> Iterator[None]:
    """Statements run in the block are planned without ``methods`` where possible."""
    unknown = set(methods) - METHODS
    if unknown:
        raise ValueError(f"unknown planner methods: {sorted(unknown)}")
    if session.get_bind().dialect.name != "postgresql" or not methods:
        yield
        return
    names = [f"enable_{method}" for method in methods]
    swap = ", ".join(
        f"current_setting('{name}'), set_config('{name}', 'off', true)" for name in names
    )
    row = session.execute(text(f"SELECT {swap}")).one()
    before = [row[2 * index] for index in range(len(names))]
    try:
        yield
    finally:
        restore = ", ".join(f"set_config('{name}', :v{i}, true)" for i, name in enumerate(names))
        session.execute(
            text(f"SELECT {restore}"), {f"v{i}": value for i, value in enumerate(before)}
        )
