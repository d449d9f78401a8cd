"""``column IN (ids)`` for long id lists, written so that the database sees one statement text.

SQLAlchemy expands ``in_()`` into one bind parameter per value when each statement runs (a cost
per value in Python), and every list length is a new statement for the database to parse and
plan. ``among`` binds the whole list as one value instead: an array on PostgreSQL
(``column = ANY(CAST(%(ids)s AS VARCHAR[]))``), a JSON array on SQLite (``column IN (SELECT
value FROM json_each(?))``, which SQLite answers through the column's index).

The PostgreSQL array is sent as the text of an array literal (``id_array``): psycopg's dumper
of a Python list costs about 1.7 µs per element, a third of that as one string (a batch of the
scheduler binds several lists of thousands of ids).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, String, any_, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session


def among(
    session: Session, column: InstrumentedAttribute[Any], values: Collection[str]
) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (string ids)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return column == any_(id_array(values))
    if dialect == "sqlite":
        listed = func.json_each(literal(json.dumps(list(values)), String())).table_valued("value")
        return column.in_(select(listed.c.value))
    return column.in_(list(values))


def id_array(values: Collection[str]) -> ColumnElement[Any]:
    """PostgreSQL: ``values`` as one ``VARCHAR[]`` value, bound as the text of an array literal
    (every element quoted, so that any string survives)."""
    quoted = ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    array: ARRAY[str] = ARRAY(String())
    return cast(literal("{" + quoted + "}", String()), array)
