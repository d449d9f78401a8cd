"""Datasets stored in scorecast (``datasets/``): uploaded CSV or Parquet files, with versions.

A version's file is kept in the storage under ``home_layout.dataset_key``
(``DatasetVersion.path`` is that key relative to ``datasets/``). An upload is spooled to a local
file and checked before it is kept, in a child process (``dataset_inspection``) so that no
parser's memory stays in the service: a file that is neither readable CSV nor Parquet, or that
passes a limit of ``settings.limits`` (columns, line length), is refused with 422 and nothing is
left behind.
The ``dataset`` intake connector reads these files. Functions flush, never commit.

A dataset keeps its categories (``Dataset.categories``): those its upload names, else
``UPLOAD_CATEGORIES``; ``update_dataset`` (``PATCH``) changes them and the name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from scorecast import home_layout
from scorecast.child_process import ChildDied
from scorecast.config import Settings
from scorecast.connectors.storage import BlobStore, StorageError, open_storage
from scorecast.errors import InvalidInput, NotFound
from scorecast.service.caller import Caller
from scorecast.service.dataset_inspection import inspect_in_child
from scorecast.service.uploads import COPY_BLOCK, spooled_upload
from scorecast.store.models import Dataset, DatasetVersion, User
from scorecast.store.org_scope import in_org, oldest_first, org_page
from scorecast.store.types import new_id, utcnow

_MAX_NAME = 200

#: DataRobot's dataset categories (the intended use of a dataset), as ``category`` filters them
CATEGORIES = ("TRAINING", "PREDICTION", "SAMPLE")
#: the categories of a dataset whose upload names none: uploads are scored by batch prediction
#: jobs
UPLOAD_CATEGORIES = ("PREDICTION",)
#: the fields a PATCH may change
_CHANGEABLE = ("name", "categories")
#: ``orderBy`` of the list: whether it is oldest first
ORDERINGS = {"-created": False, "created": True}
#: the values of ``filterFailed`` (whether to leave out failed uploads) as DataRobot spells them
FILTER_FAILED = ("false", "False", "true", "True")


@dataclass(frozen=True)
class DatasetView:
    """A dataset with the version being shown (the latest unless asked otherwise)."""

    dataset: Dataset
    version: DatasetVersion
    is_latest: bool
    created_by: str | None  # username
    #: when the dataset last changed: its latest version's upload
    last_modified: datetime
    #: the full name (else the username) of the user who made that change; versions do not
    #: record their uploader, so this is the dataset's creator
    last_modifier: str

    @property
    def categories(self) -> list[str]:
        return list(self.dataset.categories)

    @property
    def file_name(self) -> str:
        """The name of the version's file as ``file/`` downloads it (the dataset's name with
        the format's extension): the URI of its data."""
        suffix = f".{self.version.format}"
        name = self.dataset.name
        return name if name.endswith(suffix) else name + suffix


@dataclass(frozen=True)
class DatasetFilters:
    """The list's query as DataRobot spells it (``category``, ``orderBy``, ``filterFailed``)."""

    category: str | None = None
    order_by: str = "-created"
    filter_failed: str | None = None


def create_dataset(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    stream: BinaryIO,
    filename: str | None,
    name: str | None = None,
    categories: str | None = None,
) -> DatasetView:
    """A new dataset whose first version is the uploaded file (``filename`` gives the format).

    ``categories``: the upload form's field, one category or several separated by commas;
    ``UPLOAD_CATEGORIES`` when not given."""
    dataset = Dataset(
        id=new_id(),
        org_id=caller.org_id,
        name=_name(name or filename or "dataset"),
        categories=(
            list(UPLOAD_CATEGORIES)
            if categories is None
            else _categories([part.strip() for part in categories.split(",")])
        ),
        created_by=caller.user_id,
        created=utcnow(),
    )
    version = _store_version(session, settings, dataset, stream, filename)
    return _view(session, dataset, version, version)


def add_version(
    session: Session,
    caller: Caller,
    settings: Settings,
    dataset_id: str,
    *,
    stream: BinaryIO,
    filename: str | None,
) -> DatasetView:
    """A new (latest) version of an existing dataset from the uploaded file."""
    dataset = in_org(session, Dataset, caller.org_id, dataset_id)
    version = _store_version(session, settings, dataset, stream, filename)
    return _view(session, dataset, version, version)


def update_dataset(
    session: Session, caller: Caller, dataset_id: str, body: Mapping[str, Any]
) -> DatasetView:
    """PATCH (``Dataset.modify``): ``name`` and/or ``categories`` replace the stored ones; a
    field given as null, or not given, keeps its value. InvalidInput naming the field for an
    unknown field, an empty or too long name, or categories that are not a list of
    ``CATEGORIES`` (a category named twice counts once; an empty list clears them)."""
    unknown = sorted(set(body) - set(_CHANGEABLE))
    if unknown:
        raise InvalidInput(
            f"only name and categories can be changed (got {', '.join(unknown)})",
            {key: "cannot be changed" for key in unknown},
        )
    dataset = in_org(session, Dataset, caller.org_id, dataset_id, lock=True)
    if body.get("name") is not None:
        dataset.name = _new_name(body["name"])
    if body.get("categories") is not None:
        dataset.categories = _categories(body["categories"])
    session.flush()
    latest = _latest_version(session, dataset.id)
    return _view(session, dataset, latest, latest)


def get_dataset(
    session: Session, caller: Caller, dataset_id: str, version_id: str | None = None
) -> DatasetView:
    """A dataset with its latest version, or with ``version_id``; NotFound otherwise."""
    dataset = in_org(session, Dataset, caller.org_id, dataset_id)
    latest = _latest_version(session, dataset.id)
    version: DatasetVersion | None = latest
    if version_id is not None:
        version = session.scalar(
            select(DatasetVersion).where(
                DatasetVersion.id == version_id, DatasetVersion.dataset_id == dataset.id
            )
        )
        if version is None:
            raise NotFound(
                f"dataset {dataset_id} has no version {version_id}",
                {"datasetVersionId": "not found"},
            )
    assert version is not None
    return _view(session, dataset, version, latest)


def list_datasets(
    session: Session,
    caller: Caller,
    filters: DatasetFilters | None = None,
    *,
    offset: int,
    limit: int,
) -> tuple[list[DatasetView], int]:
    """A page of the organization's datasets (latest versions) matching ``filters`` (newest
    first unless ``orderBy=created``) and the total; InvalidInput naming a filter with an
    unknown value.

    ``filterFailed`` changes nothing: a failed upload is refused and leaves no dataset."""
    filters = filters or DatasetFilters()
    conditions = _list_conditions(filters, session.get_bind().dialect.name == "postgresql")
    ascending = ORDERINGS[filters.order_by]
    datasets, total = org_page(
        session,
        Dataset,
        caller.org_id,
        *conditions,
        offset=offset,
        limit=limit,
        order_by=oldest_first(Dataset) if ascending else None,
    )
    views = []
    for dataset in datasets:
        latest = _latest_version(session, dataset.id)
        views.append(_view(session, dataset, latest, latest))
    return views, total


def _list_conditions(filters: DatasetFilters, postgresql: bool) -> list[ColumnElement[bool]]:
    """The list's conditions; checks every filter's value first."""
    if filters.category is not None and filters.category not in CATEGORIES:
        raise InvalidInput.at("category", f"must be one of {', '.join(CATEGORIES)}")
    if filters.order_by not in ORDERINGS:
        raise InvalidInput.at("orderBy", f"must be one of {', '.join(ORDERINGS)}")
    if filters.filter_failed is not None and filters.filter_failed not in FILTER_FAILED:
        raise InvalidInput.at("filterFailed", "must be true or false")
    if filters.category is None:
        return []
    return [_has_category(filters.category, postgresql)]


def _has_category(category: str, postgresql: bool) -> ColumnElement[bool]:
    """Whether a dataset's stored categories hold ``category``: JSON containment on
    PostgreSQL (``CAST(categories AS JSONB) @> '["TRAINING"]'``), an ``EXISTS`` over
    ``json_each(categories)`` on SQLite. No index serves it: the condition is checked on the
    rows of one organization (``ix_datasets_org_created``), a short list."""
    if postgresql:
        return cast(Dataset.categories, JSONB).contains([category])
    each = func.json_each(Dataset.categories).table_valued("value")
    return exists().select_from(each).where(each.c.value == category)


def list_versions(session: Session, caller: Caller, dataset_id: str) -> list[DatasetView]:
    """Every version of a dataset, newest first."""
    dataset = in_org(session, Dataset, caller.org_id, dataset_id)
    versions = _versions(session, dataset.id)
    return [_view(session, dataset, version, versions[0]) for version in versions]


def delete_dataset(session: Session, caller: Caller, settings: Settings, dataset_id: str) -> None:
    """Delete a dataset, its versions and their files."""
    dataset = in_org(session, Dataset, caller.org_id, dataset_id)
    session.delete(dataset)
    session.flush()
    open_storage(settings).delete_prefix(home_layout.dataset_folder(dataset.id))


def version_key(version: DatasetVersion) -> str:
    """The storage key of a version's file."""
    return home_layout.dataset_key_of(version.path)


@dataclass(frozen=True)
class StoredFile:
    """A dataset version's file as uploaded, for download (``Dataset.get_file``)."""

    #: the file itself when the storage is a local folder (served with ranges), else None
    path: Path | None
    #: ``read(start, length)``: those bytes of the file streamed from the storage (when
    #: ``path`` is None)
    read: Callable[[int, int], Iterator[bytes]] | None
    size: int
    media_type: str
    filename: str


_MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def stored_file(
    session: Session,
    caller: Caller,
    settings: Settings,
    dataset_id: str,
    version_id: str | None = None,
) -> StoredFile:
    """The file of a dataset's latest version (or ``version_id``) in the caller's organization.

    Streamed from the storage; NotFound when the dataset, the version or the file is missing.
    """
    view = get_dataset(session, caller, dataset_id, version_id)
    store = open_storage(settings)
    key = version_key(view.version)
    local = store.local_path(key)
    try:
        size = store.size(key)
    except StorageError:
        size = None
    if size is None:
        raise NotFound(
            f"the file of dataset {dataset_id} version {view.version.id} is missing",
            {"datasetId": "its file is missing"},
        )
    return StoredFile(
        local,
        _reader(store, key) if local is None else None,
        size,
        _MEDIA_TYPES.get(view.version.format, "text/csv"),
        view.file_name,
    )


def _reader(store: BlobStore, key: str) -> Callable[[int, int], Iterator[bytes]]:
    def read(start: int, length: int) -> Iterator[bytes]:
        stream = store.open_from(key, start)
        try:
            left = length
            while left > 0 and (block := stream.read(min(COPY_BLOCK, left))):
                left -= len(block)
                yield block
        finally:
            stream.close()

    return read


def _store_version(
    session: Session,
    settings: Settings,
    dataset: Dataset,
    stream: BinaryIO,
    filename: str | None,
) -> DatasetVersion:
    """Store and inspect the file, then add the version (and ``dataset`` when it is new): the
    rows are written only after the inspection, so that no write transaction waits on it."""
    version_id = new_id()
    store = open_storage(settings)
    with spooled_upload(settings, stream, ".upload") as (partial, size):
        if size == 0:
            raise InvalidInput.at("file", "is empty")
        file_format = _format_of(partial, filename)
        columns = _inspect(settings, partial, file_format)
        key = home_layout.dataset_key(dataset.id, version_id, file_format)
        try:
            with partial.open("rb") as source:
                store.put(key, source)
            version = DatasetVersion(
                id=version_id,
                dataset_id=dataset.id,
                format=file_format,
                path=home_layout.stored_dataset_path(key),
                size=size,
                columns=columns,
                created=utcnow(),
            )
            session.add(dataset)
            session.add(version)
            session.flush()
        except BaseException:
            store.delete(key)
            raise
    return version


def _format_of(path: Path, filename: str | None) -> str:
    with path.open("rb") as handle:
        if handle.read(4) == b"PAR1":
            return "parquet"
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".parquet", ".pq"):
        raise InvalidInput.at("file", "has a Parquet name but is not a Parquet file")
    return "csv"


def _inspect(settings: Settings, path: Path, file_format: str) -> dict[str, Any]:
    """Column names and row count, read in a child process within ``settings.limits``."""
    try:
        return inspect_in_child(path, file_format, settings.limits)
    except ChildDied as exc:
        raise InvalidInput.at(
            "file", f"could not be read: the process reading it ended ({exc.message})"
        ) from exc


def _versions(session: Session, dataset_id: str) -> Sequence[DatasetVersion]:
    return session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset_id)
        .order_by(DatasetVersion.created.desc(), DatasetVersion.id.desc())
    ).all()


def _latest_version(session: Session, dataset_id: str) -> DatasetVersion:
    versions = _versions(session, dataset_id)
    if not versions:
        raise NotFound(f"dataset {dataset_id} has no version", {"datasetId": "has no version"})
    return versions[0]


def _view(
    session: Session, dataset: Dataset, version: DatasetVersion, latest: DatasetVersion
) -> DatasetView:
    """``version`` of ``dataset`` shown, ``latest`` being the dataset's latest version."""
    creator = session.get(User, dataset.created_by)
    username = creator.username if creator else None
    full_name = ((creator.full_name if creator else None) or "").strip()
    return DatasetView(
        dataset,
        version,
        version.id == latest.id,
        username,
        last_modified=latest.created,
        last_modifier=full_name or username or dataset.created_by,
    )


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput.at("name", "must not be empty")
    return value[:_MAX_NAME]


def _new_name(value: object) -> str:
    """A name a PATCH gives: refused, not cut, when too long."""
    if not isinstance(value, str):
        raise InvalidInput.at("name", "must be a string")
    if len(value.strip()) > _MAX_NAME:
        raise InvalidInput.at("name", f"must be at most {_MAX_NAME} characters")
    return _name(value)


def _categories(value: object) -> list[str]:
    """A list of ``CATEGORIES``, each once, in the order given; empty clears them (as
    DataRobot's ``Dataset.modify(categories=[])`` does)."""
    valid = ", ".join(CATEGORIES)
    if not isinstance(value, list):
        raise InvalidInput.at("categories", f"must be a list of {valid}")
    unknown = [item for item in value if item not in CATEGORIES]
    if unknown:
        raise InvalidInput.at("categories", f"{unknown[0]!r} is not one of {valid}")
    return list(dict.fromkeys(value))
