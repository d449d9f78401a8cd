"""A worker whose store is unreachable logs the outage in a few lines, not one traceback per
retry (issue 14: 15.5 MB in two minutes)."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from scorecast.config import Settings
from scorecast.runtime.worker import Worker


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port held bound and never listened on for the test: a port merely free a moment ago
    could be taken meanwhile by a server of the other test worker (``-n 2``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def test_a_worker_logs_a_store_outage_once_not_per_retry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, refused_port: int
) -> None:
    # nothing listens there: every connection is refused at once, like a stopped database
    url = f"postgresql+psycopg://postgres@127.0.0.1:{refused_port}/gone"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    settings = dataclasses.replace(
        Settings(home=tmp_path, database_url=url), debris_sweep_seconds=0.0
    )
    worker = Worker(settings, engine, poll_seconds=0.005, spare_idle_seconds=0.0)
    caplog.set_level(logging.INFO, logger="scorecast")
    worker.start()
    try:
        retried = threading.Event()
        deadline = 120.0
        while worker._claims_outage.failures < 300 and deadline > 0:  # a condition, not a pace
            retried.wait(0.05)
            deadline -= 0.05
        assert worker._claims_outage.failures >= 300, "the worker did not retry"
    finally:
        worker.stop()
    failures = [r for r in caplog.records if "claiming jobs" in r.getMessage()]
    assert 1 <= len(failures) <= 12, [r.getMessage() for r in failures]
    # each loop that met the outage (claims, leases, the time limits...) logs one traceback
    traced = [r.getMessage().partition(" failed; ")[0] for r in caplog.records if r.exc_info]
    assert "claiming jobs" in traced
    assert len(traced) == len(set(traced)), traced
    assert "connection" in failures[0].getMessage().lower()
