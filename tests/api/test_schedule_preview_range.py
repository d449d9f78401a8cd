"""``POST schedules/preview/`` near the end of the supported range: ``after`` is checked in
UTC (a 422 naming it once it reaches the year 9999), and a preview of the last supported year
answers with every fire."""

from __future__ import annotations

import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    assert_json_error,
    deployment_a_fixture,
)

TOKYO_MIDNIGHT = {
    "minute": [0],
    "hour": [0],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
    "timezone": "Asia/Tokyo",
}


@pytest.mark.parametrize(
    "after",
    [
        "9998-12-31T23:59:59-23:59",  # 9999-01-01T23:58:59Z
        "9998-12-31T23:30:00-01:00",
        "9999-06-01T00:00:00Z",
        "0002-01-01T00:00:00+00:01",  # 0001-12-31T23:59:00Z
        "0001-01-01T00:00:00+01:00",  # before datetime's range in UTC
    ],
)
def test_after_outside_the_range_in_utc_is_refused(api_a: Api, after: str) -> None:
    body = {"schedule": TOKYO_MIDNIGHT, "after": after, "count": 20}
    error = assert_json_error(api_a.post("schedules/preview/", json=body), 422)
    assert "after" in error["errors"], error


@pytest.mark.timeout(120)
def test_a_preview_of_the_last_year_lists_its_fires(api_a: Api) -> None:
    body = {"schedule": TOKYO_MIDNIGHT, "after": "9998-12-31T23:59:59+01:00", "count": 1000}
    answer = api_a.post("schedules/preview/", json=body)
    assert answer.status_code == 200, answer.text
    fires = answer.json()["fires"]
    assert len(fires) == 363
    assert fires[0]["utc"] == "9999-01-01T15:00:00.000000Z"
    assert fires[-1] == {
        "utc": "9999-12-29T15:00:00.000000Z",
        "local": "9999-12-30T00:00:00+09:00",
        "dst": None,
    }
