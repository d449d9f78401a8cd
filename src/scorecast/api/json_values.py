"""Values a JSON request body may hold, whatever field they are in (I-JSON, RFC 7493):

- integers within ±(2**53 - 1), the range every JSON implementation reads exactly (larger ones
  overflow database columns, ``timedelta`` and ``range`` further in);
- finite numbers (Python's parser takes ``NaN``, ``Infinity`` and ``1e400`` as non-finite);
- strings and keys that are Unicode text: no lone surrogate (``"\\ud800"`` parses, but can be
  neither stored nor encoded as UTF-8), and no NUL character (``"\\u0000"``: PostgreSQL's text
  cannot hold it, and SQLite's string functions stop at it);
- objects and lists nested at most ``MAX_JSON_DEPTH`` levels deep (the body itself is level 1):
  deeper values would exhaust Python's recursion further in (copies, comparisons, storage).

A value outside these is refused with ``InvalidInput`` naming its field (dotted path, list
items by index; a value nested too deeply by its top-level field) before any route sees it.
"""

from __future__ import annotations

import math
from typing import Any

from scorecast.errors import InvalidInput

#: The largest integer magnitude a JSON body may hold.
MAX_JSON_INTEGER = 2**53 - 1
#: PostgreSQL's text cannot hold U+0000, and SQLite's string functions stop at it
_NUL = "contains a NUL character (\\u0000), which no text column can hold"
#: The most levels of objects and lists a JSON body may nest, the body itself counted.
MAX_JSON_DEPTH = 32


def check_json_values(value: Any, path: str = "body") -> None:
    """Raise ``InvalidInput`` at the first value of ``value`` that is outside the rules above;
    ``path`` names ``value`` itself (the body's top-level fields are named without it)."""
    _check(value, path, path, 0)


def _check(value: Any, path: str, top: str, depth: int) -> None:
    """``top``: the body's field ``value`` is in; ``depth``: the levels of objects and lists
    around ``value``. Recurses at most ``MAX_JSON_DEPTH`` levels, whatever the value's depth."""
    if isinstance(value, dict | list) and depth >= MAX_JSON_DEPTH:
        problem = f"is nested too deeply (at most {MAX_JSON_DEPTH} levels of objects and lists)"
        raise InvalidInput(f"{top}: {problem}", {top: problem})
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if abs(value) > MAX_JSON_INTEGER:
            raise InvalidInput.at(
                path, f"is out of range (integers must be within +-{MAX_JSON_INTEGER})"
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput.at(path, "must be a finite number")
    elif isinstance(value, str):
        if not _is_text(value):
            raise InvalidInput.at(path, "contains a lone surrogate (not Unicode text)")
        if "\x00" in value:
            raise InvalidInput.at(path, _NUL)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = str(key) if _is_text(str(key)) else ascii(key)[1:-1]
            field = name if path == "body" else f"{path}.{name}"
            if name != key:
                raise InvalidInput.at(field, "this key contains a lone surrogate")
            if "\x00" in name:
                raise InvalidInput.at(ascii(field)[1:-1], "this key " + _NUL)
            _check(item, field, name if path == "body" else top, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}.{index}", top, depth + 1)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
