"""What the tests of the store's tallies (job, queue and definitions tallies: rows kept by
triggers) share: the settings of their property tests over sequences of changes, running a body
in threads at once, and downgrading a store to a revision.

Import from tests as ``from tallies import SEQUENCES, downgrade, in_threads`` (pytest puts the
tests folder on ``sys.path``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from alembic import command
from hypothesis import HealthCheck, settings
from sqlalchemy.pool import NullPool

from hypothesis_profiles import examples
from scorecast.store.db import alembic_config, create_engine_for

#: The property tests over sequences of changes: their examples share the function-scoped
#: ``engine`` fixture, and each writes hundreds of rows (slow).
SEQUENCES = settings(
    max_examples=examples(25),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def in_threads(work: Callable[[int], None], count: int, timeout: float = 300.0) -> None:
    """``work(0)`` to ``work(count - 1)`` at once, each in a (daemon) thread; fails if one
    raised or has not ended ``timeout`` seconds after they started."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0.0))
        assert not thread.is_alive(), f"a thread still runs after {timeout} s"
    assert not errors, errors


def downgrade(url: str, revision: str) -> None:
    """Downgrade the store at ``url`` to ``revision``."""
    engine = create_engine_for(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()
