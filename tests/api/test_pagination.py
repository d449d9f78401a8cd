"""The list envelope: following ``next`` from the first page visits every item once, and
``next``/``previous`` are absolute and repeat every filter (hypothesis)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from scorecast.api.pagination import page_envelope


def _request(url: str) -> Request:
    parts = urlsplit(url)
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": parts.scheme,
        "server": (parts.hostname, parts.port or 80),
        "path": parts.path,
        "root_path": "",
        "query_string": parts.query.encode(),
        "headers": [(b"host", parts.netloc.encode())],
    }
    return Request(scope)


statuses = st.lists(st.sampled_from(["RUNNING", "COMPLETED", "ABORTED"]), max_size=3)


@given(total=st.integers(0, 60), limit=st.integers(1, 25), status=statuses)
def test_following_next_visits_every_item_once(total: int, limit: int, status: list[str]) -> None:
    items = list(range(total))
    query = "&".join(f"status={value}" for value in status)
    url = f"http://host:8080/api/v2/batchPredictions/?{query}&searchName=a+b"
    seen: list[int] = []
    pages = 0
    while url is not None:
        params = parse_qs(urlsplit(url).query)
        assert params.get("status", []) == status
        assert params["searchName"] == ["a b"]
        offset = int(params.get("offset", ["0"])[0])
        page_limit = int(params.get("limit", [str(limit)])[0])
        assert page_limit == limit
        data = items[offset : offset + limit]
        envelope = page_envelope(_request(url), data, total=total, offset=offset, limit=limit)
        assert envelope["count"] == len(data)
        assert envelope["totalCount"] == total
        if offset:
            assert envelope["previous"].startswith("http://host:8080/api/v2/batchPredictions/")
        else:
            assert envelope["previous"] is None
        seen += envelope["data"]
        url = envelope["next"]
        if url is not None:
            assert url.startswith("http://host:8080/api/v2/batchPredictions/?")
        pages += 1
        assert pages <= total + 1
    assert seen == items
