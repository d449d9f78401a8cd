"""The CSV settings of a job (``csvSettings``) and the file formats a location may hold: pure
values, shared by the job spec, the file layer and the connectors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

FileFormat = Literal["csv", "parquet"]


@dataclass(frozen=True)
class CsvSettings:
    """``csvSettings`` of a job: delimiter (``"tab"`` already mapped to ``\\t``), quote, codec."""

    delimiter: str = ","
    quotechar: str = '"'
    encoding: str = "utf-8"
    #: the file's own encoding when its bytes are re-encoded to UTF-8 as they are read (a
    #: codec that is not ASCII-compatible, such as UTF-16: ``encoding`` is then ``utf-8``);
    #: empty otherwise. Messages about the file name this one.
    read_from: str = ""

    @property
    def file_encoding(self) -> str:
        """The encoding the file is written in."""
        return self.read_from or self.encoding

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any] | None) -> CsvSettings:
        raw = raw or {}
        delimiter = raw.get("delimiter") or ","
        if delimiter == "tab":
            delimiter = "\t"
        return cls(
            delimiter=delimiter,
            quotechar=raw.get("quotechar") or '"',
            encoding=raw.get("encoding") or "utf-8",
        )
