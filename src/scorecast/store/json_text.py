"""``json_text(column, "a", "b")``: the text at a fixed path of a JSON column, written so that an
index on the same expression serves it.

It renders as ``json_extract(col, '$.a.b')`` on SQLite and ``(col #>> '{a,b}')`` on PostgreSQL,
with the path as a literal: SQLite and PostgreSQL use an index on an expression only for a query
that spells the expression the same way (a bound parameter would not match). Paths are fixed
names from code, never user input (checked: letters, digits and ``_``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class json_text(FunctionElement[str]):  # noqa: N801 (a SQL function, named like one)
    """The text at ``keys`` of the JSON ``column`` (NULL when absent)."""

    type = String()
    inherit_cache = True
    name = "json_text"

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any], *keys: str) -> None:
        for key in keys:
            if not _KEY.fullmatch(key):
                raise ValueError(f"not a plain JSON key: {key!r}")
        self.keys = keys
        super().__init__(column)

    def _column_sql(self, compiler: SQLCompiler, **kw: Any) -> str:
        (column,) = self.clauses
        return compiler.process(column, **kw)


@compiles(json_text, "sqlite")
def _sqlite(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    path = "$." + ".".join(element.keys)
    return f"json_extract({element._column_sql(compiler, **kw)}, '{path}')"


@compiles(json_text, "postgresql")
def _postgresql(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    path = "{" + ",".join(element.keys) + "}"
    return f"({element._column_sql(compiler, **kw)} #>> '{path}')"
