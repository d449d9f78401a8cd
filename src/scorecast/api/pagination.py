"""DataRobot's list envelope: ``{count, totalCount, next, previous, data}``.

``next``/``previous`` are ABSOLUTE URLs that repeat every query parameter of the request
(repeated ones such as ``status`` included) with ``offset``/``limit`` moved: the datarobot
client follows ``next`` verbatim, without adding parameters.

``page_response`` is the envelope as a finished JSON response, for pages whose rows are already
JSON values (strings, numbers, booleans, None, lists, dicts): it skips FastAPI's generic
conversion of a returned dict (``jsonable_encoder``), which walks every value of every row and
cost most of a page's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

from scorecast.api.errors import AsciiJSONResponse

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


def page_response(
    request: Request, data: Sequence[Any], *, total: int, offset: int, limit: int
) -> AsciiJSONResponse:
    """``page_envelope`` as a response; ``data`` holds JSON values only (see above)."""
    envelope = page_envelope(request, data, total=total, offset=offset, limit=limit)
    return AsciiJSONResponse(envelope)


def _page_url(request: Request, offset: int, limit: int) -> str:
    return str(request.url.include_query_params(offset=offset, limit=limit))
