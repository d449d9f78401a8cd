"""``column IN (ids)`` for long id lists, written so that PostgreSQL sees one statement text.

SQLAlchemy expands ``in_()`` into one bind parameter per value, so every batch size is a new
statement for psycopg to parse and PostgreSQL to plan. On PostgreSQL ``among`` binds the whole
list as one array (``column = ANY(%(ids)s)``); elsewhere it is the plain ``in_()``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, String, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session


def among(
    session: Session, column: InstrumentedAttribute[Any], values: Collection[str]
) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (string ids)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(String())))
    return column.in_(list(values))
