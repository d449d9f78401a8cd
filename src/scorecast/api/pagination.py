"""DataRobot's list envelope: ``{count, totalCount, next, previous, data}``.

``next``/``previous`` are ABSOLUTE URLs that repeat every query parameter of the request
(repeated ones such as ``status`` included) with ``offset``/``limit`` moved: the datarobot
client follows ``next`` verbatim, without adding parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

DEFAULT_LIMIT = 100


def page_envelope(
    request: Request, data: Sequence[Any], *, total: int, offset: int, limit: int
) -> dict[str, Any]:
    """The envelope for one page: ``data`` is the page, ``total`` the count of all matches."""
    limit = limit or DEFAULT_LIMIT
    next_url = None
    if offset + len(data) < total:
        next_url = _page_url(request, offset + limit, limit)
    previous_url = _page_url(request, max(0, offset - limit), limit) if offset > 0 else None
    return {
        "count": len(data),
        "totalCount": total,
        "next": next_url,
        "previous": previous_url,
        "data": list(data),
    }


def _page_url(request: Request, offset: int, limit: int) -> str:
    return str(request.url.include_query_params(offset=offset, limit=limit))
