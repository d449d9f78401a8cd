"""Secret-bearing job spec fields are dropped at the gate and from stored specs (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.job_spec import JobSpec
from scorecast.domain.spec_secrets import SECRET_SPEC_FIELDS, without_secrets
from scorecast.errors import InvalidInput

MINIMAL = {"deploymentId": "d1", "intakeSettings": {"type": "localFile"}}
_secrets = st.text(min_size=8, max_size=40).map(lambda text: f"secret-{text}")


@given(
    api_key=st.none() | _secrets,
    datarobot_key=st.none() | _secrets,
    host=st.none() | st.text(max_size=20),
    ssl=st.none() | st.booleans(),
)
def test_the_gate_keeps_no_prediction_instance_secret(
    api_key: str | None, datarobot_key: str | None, host: str | None, ssl: bool | None
) -> None:
    instance = {
        "hostName": host,
        "sslEnabled": ssl,
        "apiKey": api_key,
        "datarobotKey": datarobot_key,
    }
    spec = JobSpec.from_wire({**MINIMAL, "predictionInstance": instance}).to_wire()
    assert spec["predictionInstance"] == {"hostName": host, "sslEnabled": ssl}
    text = json.dumps(spec)
    for secret in (api_key, datarobot_key):
        assert secret is None or secret not in text


@given(st.dictionaries(st.sampled_from(["apiKey", "datarobotKey", "hostName"]), _secrets))
def test_a_stored_spec_is_shown_without_its_secrets(instance: dict[str, Any]) -> None:
    stored = {**MINIMAL, "predictionInstance": instance}
    shown = without_secrets(stored)
    for parent, key in SECRET_SPEC_FIELDS:
        assert key not in shown.get(parent, {})
    assert shown["predictionInstance"].get("hostName") == instance.get("hostName")
    assert stored["predictionInstance"] == instance  # the stored spec is not changed


@pytest.mark.parametrize(
    ("instance", "field"),
    [
        ("pred.example.com", "predictionInstance"),
        ({"hostname": "x"}, "hostname"),
        ({"apiKey": 12}, "apiKey"),
        ({"sslEnabled": "yes"}, "sslEnabled"),
    ],
)
def test_a_bad_prediction_instance_names_the_field(instance: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        JobSpec.from_wire({**MINIMAL, "predictionInstance": instance})
    errors = caught.value.errors
    assert "predictionInstance" in errors
    problem = errors["predictionInstance"]
    assert field == "predictionInstance" or field in problem
    assert "12" not in json.dumps(errors)  # the value itself is not echoed
