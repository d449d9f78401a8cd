"""Rows of a SQL result as Arrow batches, and Arrow columns as SQL column types.

Result column types come from the driver's cursor description (PostgreSQL type OIDs through
psycopg, MySQL field types through pymysql), so every batch of one result has the same schema
even when the first rows are all NULL. ``numeric``/``decimal`` become float64 (the scoring
engine works in floats); types without an Arrow equivalent (``uuid``, ``inet``/``cidr``,
``interval``, ``money``, ``json``/``jsonb``, ``time``, arrays, ranges, …) are read as text
(``str(value)``; JSON documents and arrays as JSON), so passing them through or leaving them
unused never fails a job. Columns whose type the driver does not name (SQLite, PostgreSQL
types outside the table below) take the type of the first batch's values when that is a plain
scalar type, else text. An integer beyond int64 (a MySQL ``BIGINT UNSIGNED`` over 2^63 - 1) is
a ``ValueError`` naming the column.

``finite_or_null`` replaces NaN and ±inf by NULL for databases that cannot store them
(MySQL/MariaDB).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

_TS = pa.timestamp("us")
_TSZ = pa.timestamp("us", tz="UTC")
_PG_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    26: pa.int64(),
    700: pa.float64(),
    701: pa.float64(),
    1700: pa.float64(),
    25: pa.string(),
    1043: pa.string(),
    1042: pa.string(),
    19: pa.string(),
    18: pa.string(),
    1082: pa.date32(),
    1114: _TS,
    1184: _TSZ,
    17: pa.binary(),
    2950: pa.string(),
    114: pa.string(),
    3802: pa.string(),
    1083: pa.string(),
    1186: pa.string(),
    1266: pa.string(),  # timetz
    790: pa.string(),  # money: psycopg gives the server's formatted text ("$12.50")
    869: pa.string(),  # inet
    650: pa.string(),  # cidr
    829: pa.string(),  # macaddr
    774: pa.string(),  # macaddr8
    142: pa.string(),  # xml
    1560: pa.string(),  # bit
    1562: pa.string(),  # varbit
}
_MYSQL_TYPES: dict[int, pa.DataType] = {
    0: pa.float64(),
    246: pa.float64(),
    1: pa.int64(),
    2: pa.int64(),
    3: pa.int64(),
    8: pa.int64(),
    9: pa.int64(),
    13: pa.int64(),
    16: pa.int64(),
    4: pa.float64(),
    5: pa.float64(),
    7: _TS,
    12: _TS,
    10: pa.date32(),
    11: pa.string(),
    15: pa.string(),
    253: pa.string(),
    254: pa.string(),
    245: pa.string(),
    252: pa.string(),
    249: pa.string(),
    250: pa.string(),
    251: pa.string(),
}


def _to_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


def _to_float(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _to_int(value: Any) -> Any:
    if isinstance(value, bytes):  # MySQL BIT
        return int.from_bytes(value, "big")
    return int(value) if isinstance(value, bool) else value


def _to_utc(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value


_CONVERTERS: dict[pa.DataType, Callable[[Any], Any]] = {
    pa.string(): _to_text,
    pa.float64(): _to_float,
    pa.int64(): _to_int,
    _TSZ: _to_utc,
}


def result_schema(dialect: str, description: Sequence[Any]) -> list[tuple[str, pa.DataType | None]]:
    """Column names and Arrow types (None: infer from the values) of a cursor description."""
    table = _PG_TYPES if dialect == "postgresql" else _MYSQL_TYPES if dialect == "mysql" else {}
    columns = []
    for entry in description:
        code = entry[1]
        columns.append((str(entry[0]), table.get(code) if isinstance(code, int) else None))
    return columns


def rows_to_batch(
    columns: list[tuple[str, pa.DataType | None]], rows: Sequence[Sequence[Any]]
) -> pa.RecordBatch:
    """One batch; columns of unknown type are inferred and their type fixed in ``columns``."""
    arrays = []
    for index, (name, arrow_type) in enumerate(columns):
        values = [row[index] for row in rows]
        if arrow_type is None:
            array = _inferred(values)
            if not pa.types.is_null(array.type):
                columns[index] = (name, array.type)
        else:
            convert = _CONVERTERS.get(arrow_type)
            if convert is not None:
                values = [convert(value) for value in values]
            try:
                array = pa.array(values, type=arrow_type)
            except OverflowError as exc:
                raise ValueError(_out_of_range(name, values)) from exc
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=[name for name, _ in columns])


def _is_plain(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_null(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_timestamp(arrow_type)
    )


def _inferred(values: list[Any]) -> pa.Array:
    """The values' own Arrow type when it is a plain scalar one, else their text."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = None  # e.g. IPv4Address, a range, mixed types in one SQLite column
    if array is not None and _is_plain(array.type):
        return array
    return pa.array([_to_text(value) for value in values], type=pa.string())


def finite_or_null(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with NaN and ±inf of its floating columns replaced by NULL."""
    arrays = [
        pc.if_else(pc.is_finite(column), column, pa.scalar(None, column.type))
        if pa.types.is_floating(column.type)
        else column
        for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def _out_of_range(name: str, values: list[Any]) -> str:
    found = next((v for v in values if isinstance(v, int) and not -(2**63) <= v < 2**63), "a value")
    return (
        f"column {name!r} holds {found}, beyond the signed 64-bit integers its rows are read"
        " as (a MySQL/MariaDB BIGINT UNSIGNED or BIT(64) can hold more); read it with a query"
        f" that casts it, e.g. CAST(`{name}` AS CHAR) to keep every digit as text"
    )


def sql_type(arrow_type: pa.DataType) -> sa.types.TypeEngine[Any]:
    """The SQL column type that holds an Arrow column (``TEXT`` when nothing closer fits)."""
    if pa.types.is_boolean(arrow_type):
        return sa.Boolean()
    if pa.types.is_integer(arrow_type):
        return sa.BigInteger()
    if pa.types.is_floating(arrow_type):
        return sa.Double()
    if pa.types.is_decimal(arrow_type):
        return sa.Numeric(arrow_type.precision, arrow_type.scale)
    if pa.types.is_timestamp(arrow_type):
        return sa.DateTime(timezone=arrow_type.tz is not None)
    if pa.types.is_date(arrow_type):
        return sa.Date()
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return sa.LargeBinary()
    return sa.Text()
