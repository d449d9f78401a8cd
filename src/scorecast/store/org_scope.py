"""An organization's objects: one by id, else not found; a page of them with the total count.

This is the whole authorization model of the store: every object a caller names is read through
``in_org``, so another organization's id is answered exactly like an unknown one, with one
error shape, ``NotFound("<noun> <id> not found", {"<noun>Id": "not found"})``, the field named
as the API spells the id (a caller that took the id from another field names that one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, bindparam, func, select
from sqlalchemy.orm import QueryableAttribute, Session

from scorecast.errors import NotFound
from scorecast.store.models import (
    Backfill,
    Base,
    Credential,
    Dataset,
    DataStore,
    Deployment,
    Job,
    JobDefinition,
    NotificationChannel,
    NotificationPolicy,
)

#: a model whose rows belong to one organization: its table has ``id``, ``org_id`` and
#: ``created`` columns (every model the API names by id)
_Owned = TypeVar("_Owned", bound=Base)
_Row = TypeVar("_Row")

#: how a not-found answer names each kind: (the noun of the message, the id's wire field)
_NAMES: dict[type[Any], tuple[str, str]] = {
    Job: ("batch prediction job", "predictionJobId"),
    JobDefinition: ("batch prediction job definition", "jobDefinitionId"),
    Deployment: ("deployment", "deploymentId"),
    Credential: ("credential", "credentialId"),
    DataStore: ("data store", "dataStoreId"),
    Dataset: ("dataset", "datasetId"),
    NotificationChannel: ("notification channel", "channelId"),
    NotificationPolicy: ("notification policy", "policyId"),
    Backfill: ("backfill", "backfillId"),
}


def not_found(model: type[Any], object_id: object, *, field: str | None = None) -> NotFound:
    """The one error for an id that names no ``model`` row of the caller's organization;
    ``field``: the field that carried the id, when it is not the kind's own (``datasetId``)."""
    noun, own_field = _NAMES[model]
    return NotFound(f"{noun} {object_id} not found", {field or own_field: "not found"})


def in_org(
    session: Session,
    model: type[_Owned],
    org_id: str,
    object_id: object,
    *conditions: ColumnElement[bool],
    field: str | None = None,
    lock: bool = False,
) -> _Owned:
    """The ``model`` row ``object_id`` of organization ``org_id`` (also matching
    ``conditions``), else ``not_found``. ``lock``: hold the row until the transaction ends
    (``FOR UPDATE`` on PostgreSQL; SQLite's single writer needs none)."""
    if not isinstance(object_id, str):
        raise not_found(model, object_id, field=field)
    for_update = lock and session.get_bind().dialect.name == "postgresql"
    found: _Owned | None
    if conditions:
        columns = model.__table__.c
        query = select(model).where(columns.id == object_id, columns.org_id == org_id, *conditions)
        if for_update:
            query = query.with_for_update()
        found = session.scalars(query).one_or_none()
    else:
        by_id = _by_id(model, for_update=for_update)
        found = session.scalars(by_id, {"object_id": object_id, "org_id": org_id}).one_or_none()
    if found is None:
        raise not_found(model, object_id, field=field)
    return found


#: ``in_org``'s statement per model (and row lock), made once: building a statement and its
#: cache key cost more than running it (every single-object request reads through here)
_BY_ID: dict[tuple[type[Any], bool], Select[Any]] = {}


def _by_id(model: type[Any], *, for_update: bool) -> Select[Any]:
    query = _BY_ID.get((model, for_update))
    if query is None:
        columns = model.__table__.c
        query = select(model).where(
            columns.id == bindparam("object_id"), columns.org_id == bindparam("org_id")
        )
        if for_update:
            query = query.with_for_update()
        _BY_ID[(model, for_update)] = query
    return query


def exists_in_org(session: Session, model: type[Base], org_id: str, object_id: object) -> bool:
    """Whether ``object_id`` names a ``model`` row of organization ``org_id`` (no row is read)."""
    if not isinstance(object_id, str):
        return False
    columns = model.__table__.c
    query = select(columns.id).where(columns.id == object_id, columns.org_id == org_id)
    return session.scalar(query) is not None


def newest_first(model: type[Base]) -> tuple[ColumnElement[Any], ...]:
    """The order of every list of an organization's objects: newest first, ties by id."""
    columns = model.__table__.c
    return (columns.created.desc(), columns.id.desc())


def oldest_first(model: type[Base]) -> tuple[ColumnElement[Any], ...]:
    """The other order a list may ask for (``orderBy=created`` and the like): oldest first,
    ties by id."""
    columns = model.__table__.c
    return (columns.created.asc(), columns.id.asc())


def org_page(
    session: Session,
    model: type[_Owned],
    org_id: str,
    *conditions: ColumnElement[bool],
    offset: int,
    limit: int,
    order_by: Sequence[ColumnElement[Any]] | None = None,
    count_limit: int | None = None,
    counted_by: Callable[[], int] | None = None,
) -> tuple[list[_Owned], int]:
    """One page of organization ``org_id``'s ``model`` rows matching ``conditions`` (newest
    first unless ``order_by``) and the count of all that match (see ``page``; ``counted_by``
    as for ``org_rows_page``)."""
    columns = model.__table__.c
    query = select(model).where(columns.org_id == org_id, *conditions)
    ordering = newest_first(model) if order_by is None else tuple(order_by)
    return page(
        session,
        query,
        ordering,
        offset=offset,
        limit=limit,
        count_limit=count_limit,
        key=columns.id,
        counted_by=counted_by,
    )


def org_rows_page(
    session: Session,
    model: type[Base],
    org_id: str,
    *conditions: ColumnElement[bool],
    offset: int,
    limit: int,
    order_by: Sequence[ColumnElement[Any]] | None = None,
    count_limit: int | None = None,
    counted_by: Callable[[], int] | None = None,
) -> tuple[list[Row[Any]], int]:
    """``org_page`` as plain rows of every column of ``model``'s table (named like the model's
    attributes), for read-only pages: no ORM object is built, tracked in the session or
    expired, which cost a page of 100 jobs more than its SQL.

    Past ``DEEP_OFFSET`` the page's ids are found first through the list's covering index, then
    their rows by primary key: reading whole rows while skipping tens of thousands (SQLite
    fetches each skipped row from the table) cost more than the page itself. A row deleted
    between the two reads (PostgreSQL's READ COMMITTED) is left out, as if read a moment later.

    ``counted_by``: the exact number of rows matching, when something cheaper than counting them
    knows it (``store.job_tallies.job_count``); it is asked only when the page does not tell.
    """
    table = model.__table__
    columns = table.c
    query = select(table).where(columns.org_id == org_id, *conditions)
    ordering = newest_first(model) if order_by is None else tuple(order_by)
    if offset < DEEP_OFFSET:
        rows = list(session.execute(query.order_by(*ordering).offset(offset).limit(limit)).all())
        shown = len(rows)
    else:
        ids = session.scalars(
            query.with_only_columns(columns.id).order_by(*ordering).offset(offset).limit(limit)
        ).all()
        found = {}
        if ids:
            found = {
                row.id: row for row in session.execute(select(table).where(columns.id.in_(ids)))
            }
        rows = [found[ident] for ident in ids if ident in found]
        shown = len(ids)  # the page as its ids found it tells the total
    counted = query.with_only_columns(columns.id)
    total = _total(
        session,
        counted,
        offset=offset,
        limit=limit,
        shown=shown,
        count_limit=count_limit,
        counted_by=counted_by,
    )
    return rows, total


#: From this offset on, ``org_rows_page`` reads a page's ids before its rows.
DEEP_OFFSET = 1_000


def page(
    session: Session,
    query: Select[_Row],
    order_by: Sequence[ColumnElement[Any]],
    *,
    offset: int,
    limit: int,
    count_limit: int | None = None,
    key: ColumnElement[Any] | QueryableAttribute[Any] | None = None,
    counted_by: Callable[[], int] | None = None,
) -> tuple[list[_Row], int]:
    """Rows ``offset`` to ``offset + limit`` of ``query`` in ``order_by`` (which must end in a
    unique column, so that pages neither skip nor repeat rows), and the count of all its rows.

    With ``count_limit`` the count stops there (a page that shows "more than N" need not count
    a million rows). ``key``: one column the count selects instead of whole rows. A page with
    rows but fewer than ``limit`` is the last one and tells the total itself: no count is run
    for it. The count and the page are two statements, which PostgreSQL's READ COMMITTED may
    answer from two moments; ``consistent_total`` makes the total agree with the page.
    ``counted_by``: the exact number of rows matching, when something cheaper than counting
    them knows it (a tally); asked only where the count would have run.
    """
    rows = session.scalars(query.order_by(*order_by).offset(offset).limit(limit)).all()
    counted: Select[Any] = query if key is None else query.with_only_columns(key)
    total = _total(
        session,
        counted,
        offset=offset,
        limit=limit,
        shown=len(rows),
        count_limit=count_limit,
        counted_by=counted_by,
    )
    return list(rows), total


def _total(
    session: Session,
    counted: Select[Any],
    *,
    offset: int,
    limit: int,
    shown: int,
    count_limit: int | None,
    counted_by: Callable[[], int] | None = None,
) -> int:
    """The total of a page of ``shown`` rows (see ``page``): counted only when the page does not
    tell it."""
    if limit > 0 and (0 < shown < limit or (shown == 0 and offset == 0)):
        return offset + shown
    if counted_by is not None:
        total = counted_by()
        if count_limit is not None:
            total = min(total, count_limit)
    else:
        if count_limit is not None:
            counted = counted.limit(count_limit)
        total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    return consistent_total(total, offset=offset, limit=limit, shown=shown, count_limit=count_limit)


def consistent_total(
    counted: int, *, offset: int, limit: int, shown: int, count_limit: int | None = None
) -> int:
    """A page's total that agrees with its rows: a page with fewer than ``limit`` rows is the
    last one, so ``offset + shown`` rows exist; no page shows rows past the total. Rows added
    or removed between the count and the page (another transaction, under READ COMMITTED) can
    otherwise give a total of 0 beside a row."""
    if offset and not shown:
        return counted  # a page past the end: only the count knows
    if shown < limit:
        return offset + shown
    return max(counted, offset + shown) if count_limit is None else counted
