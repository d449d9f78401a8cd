"""``csvSettings`` characters the CSV reader cannot split on are refused at submit."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    assert_json_error,
    deployment_a_fixture,
)

JOBS = "batchPredictions/"


@pytest.mark.parametrize(
    ("csv_settings", "errors"),
    [
        (
            {"delimiter": "§"},
            {"delimiter": "must be one ASCII character ('§' is not ASCII) or 'tab'"},
        ),
        ({"quotechar": "«"}, {"quotechar": "must be one ASCII character ('«' is not ASCII)"}),
    ],
)
def test_a_non_ascii_csv_character_is_422_naming_it(
    api_a: Api, deployment_a: str, csv_settings: dict[str, str], errors: dict[str, str]
) -> None:
    body: dict[str, Any] = {
        "deploymentId": deployment_a,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
        "csvSettings": csv_settings,
    }
    answer = assert_json_error(api_a.post(JOBS, json=body), 422)
    assert answer["errors"] == {"csvSettings": errors}
    assert api_a.get(JOBS).json()["totalCount"] == 0
