"""``jdbc``: tables and queries in PostgreSQL and MySQL/MariaDB (SQLite when allowed).

Intake: ``dataStoreId`` with ``table`` (+ ``schema``) or a read-only ``query`` (one
SELECT/WITH, run in a read-only transaction), streamed through a server-side cursor
``fetchSize`` rows at a time (default ``DEFAULT_FETCH_SIZE``).

Output: ``dataStoreId``, ``table`` (+ ``schema``), ``statementType`` — ``insert``, ``update``
(``updateColumns`` set on rows matched by ``whereColumns``), ``insertUpdate`` (update matches,
insert the rest) or ``createTable`` (fails when the table exists) — and
``createTableIfNotExists``. The snake_case spellings ``insert_update``/``create_table`` are
accepted. Batches are staged in a temporary table of the job's own session; ``commit()``
applies them to the target in one transaction. A job that fails or whose worker dies leaves the
target unchanged (the session and its temporary table vanish). ``commitInterval`` is accepted
and ignored: a job's rows always land together. The same transaction inserts the job's row in
the marker table ``scorecast_commits`` (``sql_commits``), so a retried attempt of a job whose
rows are in finds it and writes nothing again.

On PostgreSQL, which refuses e.g. text for an integer column, each staged column is cast to an
existing target column's type when the two differ (never to a string type: an explicit cast to
``varchar(n)`` would truncate); a value the cast refuses fails the commit naming the column.
MySQL/MariaDB and SQLite convert on assignment. NaN and ±inf are written as NULL to
MySQL/MariaDB, which cannot store them.

Identifiers are always quoted by SQLAlchemy; no SQL is assembled from user text except the
checked read-only ``query``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake, Output, OutputToken
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.cloud import credential_of
from scorecast.connectors.fileio import describe
from scorecast.connectors.safety import UnsafeLocationError
from scorecast.connectors.sql_arrow import finite_or_null, result_schema, rows_to_batch, sql_type
from scorecast.connectors.sql_commits import (
    commits_table,
    ensure_commits_table,
    find_commit,
    record_commit,
)
from scorecast.connectors.sql_engine import data_store_engine
from scorecast.connectors.sql_query import check_read_only_query
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import ConnectorError, OutputAlreadyCommitted, ScorecastError
from scorecast.formats.batch_cutting import batches_of_about
from scorecast.formats.chunks import Chunk, ChunkBytes, chunk_bytes_source

DEFAULT_FETCH_SIZE = 10_000
#: statementType spellings → the canonical (camelCase) one.
STATEMENT_TYPES = {
    "insert": "insert",
    "update": "update",
    "insertUpdate": "insertUpdate",
    "insert_update": "insertUpdate",
    "createTable": "createTable",
    "create_table": "createTable",
}


def validate(config: Mapping[str, Any], side: Side, app_settings: Settings) -> dict[str, Any]:
    common = ("dataStoreId", "credentialId", "table", "schema", "catalog")
    if side == "intake":
        checks = Checks(config, (*common, "query", "fetchSize"))
        checks.string("query")
        checks.integer("fetchSize", 1, 1_000_000)
        has_query, has_table = config.get("query") is not None, config.get("table") is not None
        if has_query == has_table:
            checks.problem("table", "give either table or query (exactly one)")
        if isinstance(config.get("query"), str):
            try:
                check_read_only_query(config["query"])
            except ValueError as exc:
                checks.problem("query", str(exc))
    else:
        checks = Checks(
            config,
            (
                *common,
                "statementType",
                "updateColumns",
                "whereColumns",
                "createTableIfNotExists",
                "commitInterval",
            ),
        )
        checks.string("table", required=True)
        statement = checks.string("statementType", required=True)
        if statement is not None and statement not in STATEMENT_TYPES:
            checks.problem("statementType", "must be one of " + ", ".join(STATEMENT_TYPES))
        where = checks.string_list("whereColumns")
        update = checks.string_list("updateColumns")
        kind = STATEMENT_TYPES.get(statement or "")
        if kind in ("update", "insertUpdate") and not where:
            checks.problem("whereColumns", f"is required for statementType {statement}")
        if kind == "update" and not update:
            checks.problem("updateColumns", "is required for statementType update")
        checks.boolean("createTableIfNotExists")
        checks.integer("commitInterval", 0, 10**9)
    checks.string("dataStoreId", required=True)
    checks.string("credentialId")
    for key in ("table", "schema", "catalog"):
        checks.string(key)
    return checks.done()


def _engine(config: Mapping[str, Any], ctx: ConnectorContext) -> tuple[sa.Engine, str]:
    store_id = str(config["dataStoreId"])
    try:
        params = ctx.data_store(store_id)
    except ScorecastError as exc:
        raise ConnectorError(f"data store {store_id!r}: {exc.message}") from exc
    credential = credential_of(config, ctx, f"data store {store_id!r}", "basic")
    try:
        return data_store_engine(params, credential, ctx.app_settings)
    except UnsafeLocationError as exc:
        raise ConnectorError(f"data store {store_id!r}: the address {exc}") from exc


def _name(config: Mapping[str, Any]) -> str:
    schema = config.get("schema")
    return f"{schema}.{config['table']}" if schema else str(config["table"])


def _database_failure(where: str, action: str, exc: BaseException) -> ConnectorError:
    cause = getattr(exc, "orig", None) or exc
    return ConnectorError(f"{where}: {action}: {describe(cause)}")


class SqlIntake(Intake):
    def __init__(self, config: Mapping[str, Any], ctx: ConnectorContext) -> None:
        self._engine, where = _engine(config, ctx)
        self._query = config.get("query")
        self.location = f"{where} " + ("query" if self._query else f"table {_name(config)}")
        self._table = sa.table(str(config.get("table") or ""), schema=config.get("schema"))
        self._fetch = int(config.get("fetchSize") or DEFAULT_FETCH_SIZE)
        self._bytes = 0
        self._connection: sa.Connection | None = None

    def _statement(self, connection: sa.Connection) -> Any:
        if self._query is None:
            return sa.select(sa.text("*")).select_from(self._table)
        dialect = connection.dialect.name
        if dialect in ("postgresql", "mysql"):
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA query_only = ON")
        return sa.text(str(self._query))

    def header(self) -> list[str] | None:
        """The table's column names (None for a query, or when the table cannot be read)."""
        if self._query is not None:
            return None
        try:
            with self._engine.connect() as connection:
                columns = sa.inspect(connection).get_columns(
                    self._table.name, schema=self._table.schema
                )
        except Exception:
            return None
        return [str(column["name"]) for column in columns]

    def chunks(self, target_bytes: ChunkBytes) -> Iterator[Chunk]:
        """Chunks of ``fetchSize`` rows for a fixed size (as fetched); a dynamic size re-cuts
        the fetched rows into batches of that many Arrow bytes (``batches_of_about``)."""
        fetched = self._fetched()
        if callable(target_bytes):
            yield from batches_of_about(fetched, chunk_bytes_source(target_bytes))
        else:
            yield from fetched

    def _fetched(self) -> Iterator[pa.RecordBatch]:
        try:
            self._connection = self._engine.connect()
            self._connection.begin()
            statement = self._statement(self._connection)
            result = self._connection.execution_options(
                stream_results=True, yield_per=self._fetch
            ).execute(statement)
            columns = result_schema(self._connection.dialect.name, result.cursor.description or ())
        except Exception as exc:
            raise _database_failure(self.location, "reading", exc) from exc
        while True:
            try:
                rows = result.fetchmany(self._fetch)
            except Exception as exc:
                raise _database_failure(self.location, "reading", exc) from exc
            if not rows:
                return
            try:
                batch = rows_to_batch(columns, rows)
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise ConnectorError(
                    f"{self.location}: a value has an unexpected type: {exc}"
                ) from exc
            self._bytes += batch.nbytes
            yield batch

    @property
    def bytes_read(self) -> int:
        return self._bytes

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._engine.dispose()


def open_intake(intake: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Intake:
    return SqlIntake(intake, ctx)


class SqlOutput(Output):
    def __init__(self, config: Mapping[str, Any], ctx: ConnectorContext) -> None:
        self._engine, where = _engine(config, ctx)
        self.location = f"{where} table {_name(config)}"
        self._table_name = str(config["table"])
        self._schema = config.get("schema")
        self._kind = STATEMENT_TYPES[str(config["statementType"])]
        self._where = list(config.get("whereColumns") or [])
        self._update = list(config.get("updateColumns") or [])
        self._create = self._kind == "createTable" or bool(config.get("createTableIfNotExists"))
        self._connection: sa.Connection | None = None
        self._staging: sa.Table | None = None
        self._target: sa.Table | None = None
        #: staged column → the existing target column's type it is cast to (PostgreSQL)
        self._casts: dict[str, sa.types.TypeEngine[Any]] = {}
        self._bytes = 0
        self._state = "open"
        self._token: OutputToken | None = ctx.output_token
        self._commits = commits_table(self._schema)

    def committed_before(self) -> str | None:
        if self._token is None:
            return None
        try:
            with self._engine.connect() as connection:
                return find_commit(connection, self._commits, self._token)
        except Exception as exc:
            raise _database_failure(self.location, "reading the commit records", exc) from exc

    # -- staging --------------------------------------------------------------------------

    def _start(self, schema: pa.Schema) -> None:
        if self._token is not None:
            ensure_commits_table(self._engine, self._commits)
        self._connection = connection = self._engine.connect()
        exists = sa.inspect(connection).has_table(self._table_name, schema=self._schema)
        if exists:
            if self._kind == "createTable":
                raise ConnectorError(f"{self.location}: the table already exists (createTable)")
            self._target = sa.Table(
                self._table_name, sa.MetaData(), schema=self._schema, autoload_with=connection
            )
            self._check_columns(schema)
        elif not self._create:
            raise ConnectorError(
                f"{self.location}: the table does not exist (set createTableIfNotExists)"
            )
        else:
            self._check_names(schema, set(schema.names))
        columns = [sa.Column(field.name, sql_type(field.type)) for field in schema]
        if self._target is not None and connection.dialect.name == "postgresql":
            self._casts = _casts_needed(columns, self._target, connection.dialect)
        name = f"scorecast_stage_{uuid.uuid4().hex[:16]}"
        self._staging = sa.Table(name, sa.MetaData(), *columns, prefixes=["TEMPORARY"])
        self._staging.create(connection)  # in the autobegun transaction

    def _check_names(self, schema: pa.Schema, available: set[str]) -> None:
        needed = set(self._where) | set(self._update)
        missing = sorted(needed - available)
        if missing:
            raise ConnectorError(f"{self.location}: columns not found: {', '.join(missing)}")
        missing = sorted(needed - set(schema.names))
        if missing:
            raise ConnectorError(f"{self.location}: the output has no columns {', '.join(missing)}")

    def _check_columns(self, schema: pa.Schema) -> None:
        assert self._target is not None
        available = set(self._target.columns.keys())
        self._check_names(schema, available)
        if self._kind != "update":
            extra = [name for name in schema.names if name not in available]
            if extra:
                raise ConnectorError(
                    f"{self.location}: the table has no columns {', '.join(extra)} "
                    "(schema mismatch)"
                )

    def write(self, batch: pa.RecordBatch) -> None:
        if self._state != "open":
            raise ConnectorError(f"{self.location}: write after {self._state}")
        try:
            if self._staging is None:
                self._start(batch.schema)
            assert self._connection is not None and self._staging is not None
            if batch.num_rows:
                if self._connection.dialect.name == "mysql":
                    batch = finite_or_null(batch)  # MySQL/MariaDB cannot store NaN or ±inf
                self._connection.execute(self._staging.insert(), batch.to_pylist())
        except ScorecastError:
            raise
        except Exception as exc:
            raise _database_failure(self.location, "writing", exc) from exc
        self._bytes += batch.nbytes

    # -- commit ---------------------------------------------------------------------------

    def _apply(self, connection: sa.Connection) -> None:
        staging = self._staging
        assert staging is not None
        created = False
        if self._target is None:
            columns = [sa.Column(column.name, column.type) for column in staging.columns]
            self._target = sa.Table(self._table_name, sa.MetaData(), *columns, schema=self._schema)
            # another job may have created it since this one started: never drop that one
            created = not sa.inspect(connection).has_table(self._table_name, schema=self._schema)
            self._target.create(connection, checkfirst=self._kind != "createTable")
        target = self._target
        try:
            if self._token is not None:  # after any DDL: MySQL commits DDL implicitly
                self._record(connection, self._token)
            if self._casts:
                try:
                    with connection.begin_nested():
                        self._apply_rows(connection, target, staging)
                except sa.exc.DBAPIError as exc:
                    self._name_refused_column(connection, staging, exc)
                    raise
            else:
                self._apply_rows(connection, target, staging)
            connection.commit()
        except Exception:
            connection.rollback()
            if created and connection.dialect.name == "mysql":
                # MySQL commits DDL implicitly: remove the table this job created
                target.drop(connection, checkfirst=True)
                connection.commit()
            raise

    def _staged(self, staging: sa.Table, name: str) -> sa.ColumnElement[Any]:
        column = staging.c[name]
        return sa.cast(column, self._casts[name]) if name in self._casts else column

    def _apply_rows(self, connection: sa.Connection, target: sa.Table, staging: sa.Table) -> None:
        names = [column.name for column in staging.columns]
        matches = sa.and_(
            sa.true(), *(target.c[k] == self._staged(staging, k) for k in self._where)
        )
        if self._kind in ("update", "insertUpdate"):
            setting = self._update or [name for name in names if name not in self._where]
            values = {n: self._staged(staging, n) for n in setting}
            connection.execute(sa.update(target).values(values).where(matches))
        if self._kind != "update":
            rows = sa.select(*(self._staged(staging, name) for name in names))
            if self._kind == "insertUpdate":
                rows = rows.where(~sa.exists().where(matches))
            connection.execute(
                sa.insert(target).from_select([target.c[name] for name in names], rows)
            )

    def _name_refused_column(
        self, connection: sa.Connection, staging: sa.Table, failure: BaseException
    ) -> None:
        """Raise a ConnectorError naming the first cast column whose values the target's type
        refuses (each tried in a savepoint); return when every cast succeeds."""
        for name, target_type in self._casts.items():
            probe = sa.select(sa.func.count(sa.cast(staging.c[name], target_type)))
            try:
                with connection.begin_nested():
                    connection.execute(probe)
            except sa.exc.DBAPIError as exc:
                type_name = target_type.compile(dialect=connection.dialect).lower()
                raise ConnectorError(
                    f"{self.location}: column {name!r} holds a value the table's {type_name} "
                    f"column cannot take: {describe(exc.orig or exc)}"
                ) from failure

    def _record(self, connection: sa.Connection, token: OutputToken) -> None:
        try:
            record_commit(connection, self._commits, token)
        except sa.exc.IntegrityError:
            connection.rollback()  # nothing of this attempt is applied
            earlier = find_commit(connection, self._commits, token) or "another attempt"
            connection.rollback()
            raise OutputAlreadyCommitted(
                f"{self.location}: {earlier} of this job already committed its rows; "
                "not written again",
                earlier,
            ) from None

    def commit(self) -> None:
        if self._state == "committed":
            return
        if self._state != "open":
            raise ConnectorError(f"{self.location}: commit after abort")
        try:
            if self._staging is None:
                if self._kind == "createTable":
                    raise ConnectorError(f"{self.location}: no rows to create the table from")
                self._state = "committed"
                return
            assert self._connection is not None
            self._apply(self._connection)
        except ScorecastError:
            raise
        except Exception as exc:
            raise _database_failure(self.location, "committing", exc) from exc
        self._state = "committed"
        self._close()

    def abort(self) -> None:
        if self._state in ("aborted", "committed"):
            return
        self._state = "aborted"
        if self._connection is not None:
            with contextlib.suppress(Exception):  # the session is closed below either way
                self._connection.rollback()
        self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()  # the temporary staging table ends with the session
            self._connection = None
        self._engine.dispose()

    @property
    def bytes_written(self) -> int:
        return self._bytes


def _casts_needed(
    staged: list[sa.Column[Any]], target: sa.Table, dialect: sa.Dialect
) -> dict[str, sa.types.TypeEngine[Any]]:
    """Target types of the staged columns PostgreSQL would not assign as they are: those
    whose type differs, except string targets (every type converts to those on assignment,
    while an explicit cast to ``varchar(n)`` would silently truncate)."""
    casts: dict[str, sa.types.TypeEngine[Any]] = {}
    for column in staged:
        if column.name not in target.c:
            continue
        wanted = target.c[column.name].type
        if isinstance(wanted, sa.types.NullType):
            continue  # a type SQLAlchemy does not know: leave it to the database
        if isinstance(wanted, sa.String) and not isinstance(wanted, sa.Enum):
            continue
        if wanted.compile(dialect=dialect) != column.type.compile(dialect=dialect):
            casts[column.name] = wanted
    return casts


def open_output(output: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Output:
    return SqlOutput(output, ctx)
