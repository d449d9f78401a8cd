"""``JobSpec``: wire → spec → wire is the identity on the normal form, and every invalid spec
fails with one exact field error (properties; the cases are in ``job_spec_cases``)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from job_spec_cases import INVALID_CHANGES, valid_specs
from scorecast.domain.job_spec import JobSpec
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.errors import InvalidInput, UnsupportedFeature


@given(valid_specs())
def test_a_valid_spec_is_written_back_in_its_normal_form(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    wire, normal = case
    assert JobSpec.from_wire(wire).to_wire() == normal


@given(valid_specs())
def test_the_normal_form_round_trips_exactly(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    wire, normal = case
    spec = JobSpec.from_wire(wire)
    assert JobSpec.from_wire(normal) == spec
    assert JobSpec.from_wire(normal).to_wire() == normal
    assert json.loads(json.dumps(normal)) == normal  # what the store keeps
    assert pickle.loads(pickle.dumps(spec)) == spec  # what a job process receives
    ScoringOptions.of(spec)  # derived, never re-parsed


def invalid(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``change`` applied and nothing else left invalid by it."""
    spec = {**base, **change}
    if "passthroughColumns" in change:
        spec.pop("passthroughColumnsSet", None)
    return spec


@given(valid_specs(), st.sampled_from(INVALID_CHANGES))
def test_every_invalid_spec_fails_with_exactly_its_field_error(
    case: tuple[dict[str, Any], dict[str, Any]],
    bad: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    change, errors = bad
    with pytest.raises(InvalidInput) as caught:
        JobSpec.from_wire(invalid(case[0], change))
    assert not isinstance(caught.value, UnsupportedFeature)
    assert caught.value.errors == errors
