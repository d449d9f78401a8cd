"""Fixtures of the store tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services import BACKENDS, POSTGRES, drop_postgres_database, pg_execute, pg_url, require


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new database with no tables at all, on the parametrized backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    require(POSTGRES)
    name = f"scorecast_empty_{tmp_path.name[-20:]}".replace("-", "_").lower()
    drop_postgres_database(name)
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        drop_postgres_database(name)
