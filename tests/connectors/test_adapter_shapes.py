"""The typed adapter settings of a job spec (``domain/adapter_settings.py``) declare exactly the
keys each connector's validator allows, with the same message for a key it does not know."""

from __future__ import annotations

from typing import Any

import pytest

from scorecast.config import Settings
from scorecast.connectors.registry import validate_intake_settings, validate_output_settings
from scorecast.domain.adapter_settings import (
    AdapterProblems,
    intake_settings_from_wire,
    output_settings_from_wire,
)
from scorecast.errors import InvalidInput

CASES = [
    ("intake", "localFile"),
    ("intake", "filesystem"),
    ("intake", "s3"),
    ("intake", "azure"),
    ("intake", "gcp"),
    ("intake", "jdbc"),
    ("intake", "dataset"),
    ("output", "localFile"),
    ("output", "filesystem"),
    ("output", "s3"),
    ("output", "azure"),
    ("output", "gcp"),
    ("output", "jdbc"),
]


@pytest.mark.parametrize(("side", "kind"), CASES)
def test_a_foreign_key_gets_the_connectors_own_message(side: str, kind: str) -> None:
    settings: dict[str, Any] = {"type": kind, "notASetting": 1}
    validate = validate_intake_settings if side == "intake" else validate_output_settings
    parse = intake_settings_from_wire if side == "intake" else output_settings_from_wire
    key = f"{side}Settings"
    with pytest.raises(InvalidInput) as by_connector:
        validate(settings, app_settings=Settings.from_env())
    with pytest.raises(AdapterProblems) as by_domain:
        parse(settings)
    problems = by_domain.value.problems
    assert isinstance(problems, dict)
    assert problems["notASetting"] == by_connector.value.errors[key]["notASetting"]
