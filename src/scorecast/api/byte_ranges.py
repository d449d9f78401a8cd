"""The one byte range a ``Range`` header asks for (RFC 9110 §14.2), for files streamed from an
object store (a local file is served by ``FileResponse``, which reads ``Range`` itself).

``bytes=first-last``, ``bytes=first-`` and ``bytes=-suffix`` give one range. A header the server
may ignore (another unit, several ranges, bad syntax, ``first > last``) gives None: the whole
file is sent with 200, as RFC 9110 allows. A range that starts past the end, or an empty suffix,
is unsatisfiable: ``Unsatisfiable`` (answered 416 with ``Content-Range: bytes */size``).
"""

from __future__ import annotations

import re

_ONE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")


class Unsatisfiable(Exception):
    """The range lies outside the file."""


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte offsets, both included, of the range ``header`` asks of a file of
    ``size`` bytes; None for the whole file (see the module docstring)."""
    match = _ONE_RANGE.fullmatch(header or "")
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text:
        if not last_text:
            return None
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # not a valid range: ignored
    if first >= size:
        raise Unsatisfiable
    return first, min(int(last_text), size - 1) if last_text else size - 1
