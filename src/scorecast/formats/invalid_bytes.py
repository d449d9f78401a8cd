"""Bytes invalid in a CSV's encoding, carried through decoding as marks (pure).

A valid row may hold U+FFFD itself, so decoding with ``replace`` could not tell it from a
byte that was invalid. The error handler ``MARK_INVALID`` puts a lone surrogate (U+DC00 plus
its first byte) in place of each invalid sequence instead: a character that no valid text
decodes to. Marked text is carried as UTF-8 with its surrogates encoded (``encode("utf-8",
"surrogatepass")``), which is itself invalid UTF-8: decoding that again with ``MARK_INVALID``
gives the same marks back, so a UTF-16 file turned into UTF-8 bytes as it is read
(``csv_blocks``) keeps its marks. The CSV decoder fails the rows that hold a mark
(``INVALID_MARK``) and shows each mark as U+FFFD.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

#: the name of the error handler (``bytes.decode(encoding, MARK_INVALID)``)
MARK_INVALID: Final = "scorecast-mark-invalid"
#: a character ``MARK_INVALID`` put in place of an invalid byte
INVALID_MARK: Final = re.compile("[\udc00-\udcff]")
#: an encoded mark, as ``encode("utf-8", "surrogatepass")`` writes it
_ENCODED_MARK: Final = re.compile(b"\xed[\xb0-\xb3][\x80-\xbf]")


def _mark_invalid(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    data, start = error.object, error.start
    encoded = _ENCODED_MARK.match(data, start)
    if encoded is not None and error.encoding == "utf-8":
        return bytes(encoded.group()).decode("utf-8", "surrogatepass"), encoded.end()
    return chr(0xDC00 + data[start]), error.end  # one mark a sequence, as ``replace`` does


codecs.register_error(MARK_INVALID, _mark_invalid)


def replaced(field: str) -> str:
    """``field`` with each mark shown as U+FFFD."""
    return INVALID_MARK.sub("\ufffd", field)
