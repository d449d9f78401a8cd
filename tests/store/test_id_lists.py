"""``among``: a column among a list of ids bound as one value, on both stores (PostgreSQL's
array sent as the text of an array literal, ``id_array``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, MetaData, String, Table, func, insert, select

from scorecast.store.db import session_scope
from scorecast.store.id_lists import among, id_array

#: any text a database stores (PostgreSQL's text holds no NUL; both stores hold UTF-8, which
#: has no lone surrogate), the array literal's own characters included: quotes, backslashes,
#: commas, braces, spaces, the word NULL
TEXTS = st.text(
    st.characters(codec="utf-8", blacklist_characters="\x00"), max_size=12
) | st.sampled_from(['"', "\\", ",", "{}", " a ", "NULL", "null", '\\"', "a,b", "{x}"])
FIXTURE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

metadata = MetaData()
values_table = Table("id_list_values", metadata, Column("value", String(40)))


@FIXTURE
@given(stored=st.lists(TEXTS, max_size=20, unique=True), wanted=st.lists(TEXTS, max_size=20))
def test_among_finds_exactly_the_listed_values(
    engine: Engine, stored: list[str], wanted: list[str]
) -> None:
    metadata.create_all(engine)
    try:
        with session_scope(engine) as session:
            if stored:
                session.execute(insert(values_table), [{"value": v} for v in stored])
            found = session.scalars(
                select(values_table.c.value).where(among(session, values_table.c.value, wanted))
            ).all()
        assert sorted(found) == sorted(set(stored) & set(wanted))
    finally:
        metadata.drop_all(engine)


@FIXTURE
@given(values=st.lists(TEXTS, max_size=30))
def test_the_postgresql_array_keeps_every_value_in_order(engine: Engine, values: list[str]) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("an array type of PostgreSQL's; SQLite binds a JSON list")
    with session_scope(engine) as session:
        assert list(session.scalars(select(func.unnest(id_array(values))))) == values
