"""``explanationNumTopClasses`` / ``explanationClassNames`` at submit, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import (  # noqa: F401 (pytest fixture)
    Api,
    api_a_fixture,
    assert_json_error,
    seed_deployment,
)

from scorecast.domain.model_description import Feature, ModelDescription

JOBS = "batchPredictions/"


@pytest.fixture(name="multiclass_deployment")
def multiclass_deployment_fixture(live_server: Any) -> str:
    """A deployment row of an explainable 3-class model in org-a (no worker runs here)."""
    description = ModelDescription(
        format="skops",
        target="species",
        target_type="multiclass",
        features=[Feature("petal")],
        sha256="0" * 64,
        class_labels=["setosa", "versicolor", "virginica"],
        can_explain=True,
    )
    return seed_deployment(live_server, "org-a", description)


def _spec(deployment_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "deploymentId": deployment_id,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
        "maxExplanations": 2,
        **extra,
    }


def test_unknown_class_names_are_a_422_naming_the_field_and_the_names(
    api_a: Api, multiclass_deployment: str
) -> None:
    body = _spec(multiclass_deployment, explanationClassNames=["virginica", "rosa", "lily"])
    errors = assert_json_error(api_a.post(JOBS, json=body), 422)["errors"]
    assert list(errors) == ["explanationClassNames"]
    assert "['rosa', 'lily']" in errors["explanationClassNames"]
    too_many = _spec(multiclass_deployment, explanationNumTopClasses=4)
    errors = assert_json_error(api_a.post(JOBS, json=too_many), 422)["errors"]
    assert "explanationNumTopClasses" in errors
    assert api_a.get(JOBS).json()["totalCount"] == 0


def test_known_classes_are_accepted_and_echoed(api_a: Api, multiclass_deployment: str) -> None:
    named = _spec(multiclass_deployment, explanationClassNames=["virginica", "setosa"])
    response = api_a.post(JOBS, json=named)
    assert response.status_code == 202, response.text
    assert response.json()["jobSpec"]["explanationClassNames"] == ["virginica", "setosa"]
    top = api_a.post(JOBS, json=_spec(multiclass_deployment, explanationNumTopClasses=2))
    assert top.status_code == 202, top.text
    assert top.json()["jobSpec"]["explanationNumTopClasses"] == 2
