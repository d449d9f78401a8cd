"""``intakeSettings`` and ``outputSettings`` typed per adapter: a union discriminated on ``type``.

``intake_settings_from_wire`` / ``output_settings_from_wire`` check the *shape* of each key (a
string, a boolean, an integer, a list of column names, a known ``format``; no key foreign to the
type) with the connectors' own messages, and return a frozen value whose ``to_wire()`` is the
stored form. What needs the server's configuration or more than the value's shape (URL and path
safety, allowed file roots, ranges, SQL read-only checks, templates) stays with the connector
validators (``scorecast.connectors.registry``), which the service runs on ``to_wire()``.

A ``type`` without a typed shape here (a type this server refuses, or an adapter registered by a
plug-in) is kept as ``OtherAdapter`` with its keys as sent; the registry judges it.

Normalised: a key whose value is ``null`` is the key left out (every adapter key is optional
or required, never meaningfully null).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit

from scorecast.domain.csv_settings import FileFormat

Problems = dict[str, str]

#: the formats a file location may hold
FILE_FORMATS = ("csv", "parquet")

_Kind = Literal["string", "required", "boolean", "integer", "columns", "format"]


def _wire(key: str, kind: _Kind = "string") -> dict[str, str]:
    """A field's wire key and the shape its value must have."""
    return {"wire": key, "kind": kind}


@dataclass(frozen=True)
class _Adapter:
    """Fields carry their wire key and shape in ``metadata``; ``type`` is the discriminator."""

    TYPE: ClassVar[str] = ""

    @property
    def type(self) -> str:
        return self.TYPE

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"type": self.TYPE}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None:
                wire[item.metadata["wire"]] = list(value) if isinstance(value, tuple) else value
        return wire


@dataclass(frozen=True)
class LocalFileIntake(_Adapter):
    TYPE: ClassVar[str] = "localFile"
    multipart: bool | None = field(default=None, metadata=_wire("multipart", "boolean"))
    async_: bool | None = field(default=None, metadata=_wire("async", "boolean"))


@dataclass(frozen=True)
class LocalFileOutput(_Adapter):
    TYPE: ClassVar[str] = "localFile"
    #: the official client's own download path: accepted and ignored
    path: str | None = field(default=None, metadata=_wire("path"))


@dataclass(frozen=True)
class FileSystemAdapter(_Adapter):
    TYPE: ClassVar[str] = "filesystem"
    url: str = field(default="", metadata=_wire("url", "required"))
    format: FileFormat | None = field(default=None, metadata=_wire("format", "format"))


@dataclass(frozen=True)
class S3Adapter(_Adapter):
    TYPE: ClassVar[str] = "s3"
    url: str = field(default="", metadata=_wire("url", "required"))
    credential_id: str | None = field(default=None, metadata=_wire("credentialId"))
    endpoint_url: str | None = field(default=None, metadata=_wire("endpointUrl"))
    format: FileFormat | None = field(default=None, metadata=_wire("format", "format"))


@dataclass(frozen=True)
class AzureAdapter(_Adapter):
    TYPE: ClassVar[str] = "azure"
    url: str = field(default="", metadata=_wire("url", "required"))
    credential_id: str | None = field(default=None, metadata=_wire("credentialId"))
    format: FileFormat | None = field(default=None, metadata=_wire("format", "format"))


@dataclass(frozen=True)
class GcpAdapter(_Adapter):
    TYPE: ClassVar[str] = "gcp"
    url: str = field(default="", metadata=_wire("url", "required"))
    credential_id: str | None = field(default=None, metadata=_wire("credentialId"))
    format: FileFormat | None = field(default=None, metadata=_wire("format", "format"))


@dataclass(frozen=True)
class JdbcIntake(_Adapter):
    TYPE: ClassVar[str] = "jdbc"
    data_store_id: str = field(default="", metadata=_wire("dataStoreId", "required"))
    credential_id: str | None = field(default=None, metadata=_wire("credentialId"))
    table: str | None = field(default=None, metadata=_wire("table"))
    schema: str | None = field(default=None, metadata=_wire("schema"))
    catalog: str | None = field(default=None, metadata=_wire("catalog"))
    query: str | None = field(default=None, metadata=_wire("query"))
    fetch_size: int | None = field(default=None, metadata=_wire("fetchSize", "integer"))


@dataclass(frozen=True)
class JdbcOutput(_Adapter):
    TYPE: ClassVar[str] = "jdbc"
    data_store_id: str = field(default="", metadata=_wire("dataStoreId", "required"))
    table: str = field(default="", metadata=_wire("table", "required"))
    statement_type: str = field(default="", metadata=_wire("statementType", "required"))
    credential_id: str | None = field(default=None, metadata=_wire("credentialId"))
    schema: str | None = field(default=None, metadata=_wire("schema"))
    catalog: str | None = field(default=None, metadata=_wire("catalog"))
    update_columns: tuple[str, ...] | None = field(
        default=None, metadata=_wire("updateColumns", "columns")
    )
    where_columns: tuple[str, ...] | None = field(
        default=None, metadata=_wire("whereColumns", "columns")
    )
    create_table_if_not_exists: bool | None = field(
        default=None, metadata=_wire("createTableIfNotExists", "boolean")
    )
    commit_interval: int | None = field(default=None, metadata=_wire("commitInterval", "integer"))


@dataclass(frozen=True)
class DatasetIntake(_Adapter):
    TYPE: ClassVar[str] = "dataset"
    dataset_id: str = field(default="", metadata=_wire("datasetId", "required"))
    dataset_version_id: str | None = field(default=None, metadata=_wire("datasetVersionId"))


@dataclass(frozen=True)
class OtherAdapter:
    """A type without a typed shape here; ``values`` are its keys as sent (``type`` included)."""

    type: str
    values: Mapping[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return dict(self.values)


IntakeSettings = (
    LocalFileIntake
    | FileSystemAdapter
    | S3Adapter
    | AzureAdapter
    | GcpAdapter
    | JdbcIntake
    | DatasetIntake
    | OtherAdapter
)
OutputSettings = (
    LocalFileOutput
    | FileSystemAdapter
    | S3Adapter
    | AzureAdapter
    | GcpAdapter
    | JdbcOutput
    | OtherAdapter
)

_FILES: tuple[type[_Adapter], ...] = (FileSystemAdapter, S3Adapter, AzureAdapter, GcpAdapter)
_INTAKE_KINDS: tuple[type[_Adapter], ...] = (LocalFileIntake, JdbcIntake, DatasetIntake, *_FILES)
_OUTPUT_KINDS: tuple[type[_Adapter], ...] = (LocalFileOutput, JdbcOutput, *_FILES)
_INTAKES = {kind.TYPE: kind for kind in _INTAKE_KINDS}
_OUTPUTS = {kind.TYPE: kind for kind in _OUTPUT_KINDS}


def same_location(intake: IntakeSettings, output: OutputSettings) -> bool:
    """Whether a ``filesystem`` output names the file its ``filesystem`` intake reads (the
    predictions would replace their input).

    The ``file:`` URLs are compared as paths: host ``localhost`` or none, percent-escapes
    decoded, ``.``, ``..`` and doubled slashes resolved (links are not followed: that needs the
    server's files); placeholders as written, since both sides of a job get the same values.
    Object stores are not judged: DataRobot's own example definition reads and writes one S3
    object, and its output replaces the input only once the whole input is read.
    """
    if not isinstance(intake, FileSystemAdapter) or not isinstance(output, FileSystemAdapter):
        return False
    return _path(intake.url) == _path(output.url)


def _path(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return url
    return posixpath.normpath(unquote(parts.path)).replace("//", "/")


class AdapterProblems(Exception):
    """The settings' problems by key (wire spelling), or one problem for the whole object."""

    def __init__(self, problems: Problems | str) -> None:
        super().__init__(str(problems))
        self.problems = problems


def intake_settings_from_wire(raw: object) -> IntakeSettings:
    """Typed ``intakeSettings``; ``AdapterProblems`` names each key whose shape is wrong."""
    return _from_wire(raw, _INTAKES)  # type: ignore[return-value]


def output_settings_from_wire(raw: object) -> OutputSettings:
    """Typed ``outputSettings``; ``AdapterProblems`` names each key whose shape is wrong."""
    return _from_wire(raw, _OUTPUTS)  # type: ignore[return-value]


def _from_wire(raw: object, kinds: Mapping[str, type[_Adapter]]) -> _Adapter | OtherAdapter:
    if not isinstance(raw, Mapping):
        raise AdapterProblems("must be an object")
    kind_name = raw.get("type")
    if not isinstance(kind_name, str) or not kind_name:
        raise AdapterProblems({"type": "is required (a string such as 'localFile' or 's3')"})
    kind = kinds.get(kind_name)
    if kind is None:
        return OtherAdapter(kind_name, {str(key): value for key, value in raw.items()})
    declared = {item.metadata["wire"]: item for item in fields(kind)}
    problems: Problems = {}
    for key in raw:
        if key != "type" and key not in declared:
            allowed = ", ".join(sorted(declared))
            problems[str(key)] = f"is not a setting of this type; allowed: {allowed}"
    values: dict[str, Any] = {}
    for wire, item in declared.items():
        value = raw.get(wire)
        problem = _shape_problem(item.metadata["kind"], value)
        if problem is not None:
            problems.setdefault(wire, problem)
        elif value is not None:
            values[item.name] = tuple(value) if isinstance(value, list) else value
    if problems:
        raise AdapterProblems(problems)
    return kind(**values)


def _shape_problem(kind: _Kind, value: object) -> str | None:
    """The connectors' messages (``connectors/checks.py``) for a value of the wrong shape."""
    if value is None:
        return "is required" if kind == "required" else None
    if kind in ("string", "required"):
        ok = isinstance(value, str) and bool(value.strip())
        return None if ok else "must be a non-empty string"
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be an integer"
    if kind == "columns":
        ok = isinstance(value, list) and all(isinstance(item, str) and item for item in value)
        return None if ok else "must be a list of column names"
    return None if value in FILE_FORMATS else f"must be 'csv' or 'parquet', not {value!r}"
