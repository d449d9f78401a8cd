"""``store.planner_hints.planner_avoids``: a method switched off for the block's statements
only, in the caller's transaction, and restored after (PostgreSQL); nothing on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from scorecast.store.db import session_scope
from scorecast.store.planner_hints import planner_avoids


def _setting(session: Session, name: str) -> str:
    return str(session.execute(text(f"SELECT current_setting('{name}')")).scalar())


def test_the_methods_are_off_inside_the_block_and_restored_after(engine: Engine) -> None:
    with session_scope(engine) as session:
        if engine.dialect.name != "postgresql":
            with planner_avoids(session, "sort", "seqscan"):
                assert session.execute(text("SELECT 1")).scalar() == 1
            return
        with planner_avoids(session, "sort", "seqscan"):
            assert _setting(session, "enable_sort") == "off"
            assert _setting(session, "enable_seqscan") == "off"
            assert _setting(session, "enable_bitmapscan") == "on"
        assert _setting(session, "enable_sort") == "on"
        assert _setting(session, "enable_seqscan") == "on"


def test_a_setting_changed_before_the_block_is_what_the_block_restores(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL planner settings")
    with session_scope(engine) as session:
        session.execute(text("SET LOCAL enable_sort = off"))
        with planner_avoids(session, "sort"):
            pass
        assert _setting(session, "enable_sort") == "off"
    with session_scope(engine) as session:  # local to the transaction: the next one plans freely
        with planner_avoids(session, "sort"):
            pass
        assert _setting(session, "enable_sort") == "on"


def test_the_settings_are_restored_when_the_block_raises(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL planner settings")
    with session_scope(engine) as session:
        with pytest.raises(ValueError), planner_avoids(session, "seqscan"):
            raise ValueError("the caller failed")
        assert _setting(session, "enable_seqscan") == "on"


def test_an_unknown_method_is_refused(engine: Engine) -> None:
    with (
        session_scope(engine) as session,
        pytest.raises(ValueError, match="unknown planner"),
        planner_avoids(session, "hashjoin"),
    ):
        pass
