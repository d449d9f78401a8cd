"""The message an action's redirect carries to the next page, which only the server can write.

An action answers with a redirect (post/redirect/get) to ``path?message=VALUE`` or
``?error=VALUE``. ``VALUE`` is the text (base64url of its UTF-8) and an HMAC of it, of its kind
and of the session's CSRF token, under the console's CSRF key (``ConsoleKeys.csrf_token``, on
``flash:…``: apart from the forms' tokens, which are HMACs of a cookie or of ``login:…``).
A page shows a value only when its HMAC is right for the session viewing it: a link from
elsewhere with a text of its sender's choosing ("Your token was revoked. Email a new one
to …") shows nothing, nor does a genuine value copied from another person's session, nor does
any value on a page shown without a session (the sign-in page).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from scorecast.web.session import ConsoleKeys

#: the query parameters that carry a notice, in the order a page shows them
KINDS: Final = ("message", "error")
#: a longer text is cut here (service messages are a line or two)
MAX_CHARS: Final = 2000


@dataclass(frozen=True)
class Notice:
    """A line at the top of a page: news (``role=status``) or a refusal (``role=alert``)."""

    text: str
    error: bool = False


def sealed(keys: ConsoleKeys, csrf: str, kind: str, text: str) -> str:
    """The query value carrying ``text`` as a notice of ``kind`` to the session of ``csrf``."""
    payload = base64.urlsafe_b64encode(text[:MAX_CHARS].encode("utf-8")).decode("ascii")
    payload = payload.rstrip("=")
    return f"{payload}.{keys.csrf_token(_signed_part(csrf, kind, payload))}"


def notices(keys: ConsoleKeys, csrf: str, query: Mapping[str, str]) -> list[Notice]:
    """The genuine notices of a page's ``query`` for the session of ``csrf``; the rest is
    ignored, never shown."""
    found = []
    for kind in KINDS:
        text = _opened(keys, csrf, kind, query.get(kind, ""))
        if text:
            found.append(Notice(text, error=kind == "error"))
    return found


def _opened(keys: ConsoleKeys, csrf: str, kind: str, value: str) -> str | None:
    payload, dot, signature = value.partition(".")
    if (
        not dot
        or not payload.isascii()
        or not keys.csrf_ok(_signed_part(csrf, kind, payload), signature)
    ):
        return None
    try:
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _signed_part(csrf: str, kind: str, payload: str) -> str:
    return f"flash:{kind}:{csrf}:{payload}"
