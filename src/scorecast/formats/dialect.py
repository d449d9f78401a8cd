"""CSV dialect and codec checks shared by the CSV reader, decoder and encoder."""

from __future__ import annotations

import codecs
import csv
from typing import Any

from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import InvalidInput


def is_ascii_compatible(encoding: str) -> bool:
    try:
        codec = codecs.lookup(encoding)
    except LookupError as exc:
        raise InvalidInput.at("csvSettings.encoding", f"unknown encoding {encoding!r}") from exc
    probe = "\n\r,;\t|\"'a0"
    return codec.encode(probe)[0] == probe.encode("ascii")


def csv_dialect(settings: CsvSettings) -> dict[str, Any]:
    return {
        "delimiter": settings.delimiter,
        "quotechar": settings.quotechar or None,
        "quoting": csv.QUOTE_MINIMAL if settings.quotechar else csv.QUOTE_NONE,
        "doublequote": True,
        "strict": False,
    }
