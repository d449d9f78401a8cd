"""Definition policies: wire → policies → wire keeps every value; bad values name their field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.definition_policies import (
    DEFAULT_POLICIES,
    MAX_ATTEMPTS,
    POLICY_KEYS,
    CatchUp,
    OverlapPolicy,
    Retry,
    parse_policies,
    policies_from_stored,
    policies_to_wire,
)
from scorecast.errors import InvalidInput

_optional_positive = st.none() | st.integers(1, 1000)

_valid_wire = st.fixed_dictionaries(
    {},
    optional={
        "overlapPolicy": st.sampled_from([p.value for p in OverlapPolicy]),
        "catchUp": st.fixed_dictionaries(
            {"windowSeconds": st.integers(0, 86_400 * 30), "maxRuns": st.integers(0, 1000)}
        ),
        "retry": st.fixed_dictionaries(
            {
                "maxAttempts": st.integers(1, MAX_ATTEMPTS),
                "delaySeconds": st.integers(0, 3600),
                "backoffFactor": st.floats(1.0, 10.0),
            }
        ),
        "timeoutSeconds": _optional_positive,
        "expectedDurationSeconds": _optional_positive,
        "autoDisableAfterFailures": _optional_positive,
        "jitterSeconds": st.integers(0, 3600),
        "retention": st.none()
        | st.fixed_dictionaries(
            {
                "maxJobs": _optional_positive,
                "maxAgeDays": _optional_positive,
                "keepLastSuccessful": st.booleans(),
            }
        ),
    },
)


@given(_valid_wire)
def test_every_given_key_comes_back_with_its_value(wire: dict[str, Any]) -> None:
    returned = policies_to_wire(parse_policies(wire))
    assert set(returned) == set(POLICY_KEYS)
    for key, value in wire.items():
        assert returned[key] == value


@given(_valid_wire)
def test_the_wire_form_parses_back_to_the_same_policies(wire: dict[str, Any]) -> None:
    policies = parse_policies(wire)
    assert policies_from_stored(policies_to_wire(policies)) == policies


@given(_valid_wire, _valid_wire)
def test_a_change_keeps_what_it_does_not_name(
    first: dict[str, Any], change: dict[str, Any]
) -> None:
    changed = policies_to_wire(parse_policies(change, parse_policies(first)))
    for key in POLICY_KEYS:
        expected = change.get(key, first.get(key, policies_to_wire(DEFAULT_POLICIES)[key]))
        if key in change and change[key] is None:
            expected = policies_to_wire(DEFAULT_POLICIES)[key]
        assert changed[key] == expected


def test_no_keys_and_nothing_stored_are_the_behaviour_without_policies() -> None:
    assert parse_policies({}) == DEFAULT_POLICIES == policies_from_stored(None)
    assert DEFAULT_POLICIES.overlap_policy is OverlapPolicy.SKIP
    assert DEFAULT_POLICIES.catch_up == CatchUp(window_seconds=3600, max_runs=1)
    assert DEFAULT_POLICIES.retry == Retry(max_attempts=1, delay_seconds=60, backoff_factor=2.0)
    assert DEFAULT_POLICIES.retention is None


def test_a_nested_object_replaces_the_whole_setting() -> None:
    base = parse_policies({"catchUp": {"windowSeconds": 60, "maxRuns": 5}})
    assert parse_policies({"catchUp": {"maxRuns": 2}}, base).catch_up == CatchUp(3600, 2)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"overlapPolicy": "sometimes"}, {"overlapPolicy": "must be one of"}),
        ({"catchUp": {"maxRuns": -1}}, {"catchUp": {"maxRuns": "must be an integer"}}),
        ({"catchUp": 5}, {"catchUp": "must be an object"}),
        ({"catchUp": {"window": 5}}, {"catchUp": {"window": "is not a known key"}}),
        ({"retry": {"maxAttempts": 0}}, {"retry": {"maxAttempts": "must be an integer"}}),
        ({"retry": {"backoffFactor": 0.5}}, {"retry": {"backoffFactor": "must be a number"}}),
        ({"timeoutSeconds": 0}, {"timeoutSeconds": "must be an integer"}),
        ({"timeoutSeconds": True}, {"timeoutSeconds": "must be an integer"}),
        ({"jitterSeconds": 3601}, {"jitterSeconds": "must be an integer"}),
        ({"retention": {"maxJobs": 0}}, {"retention": {"maxJobs": "must be an integer"}}),
        (
            {"retention": {"keepLastSuccessful": "yes"}},
            {"retention": {"keepLastSuccessful": "must be true or false"}},
        ),
    ],
)
def test_an_invalid_value_names_its_field(body: dict[str, Any], errors: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_policies(body)
    _assert_named(caught.value.errors, errors)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_policies({"overlapPolicy": 1, "jitterSeconds": -1, "retry": {"maxAttempts": 0}})
    assert set(caught.value.errors) == {"overlapPolicy", "jitterSeconds", "retry"}


def _assert_named(found: Any, expected: Any) -> None:
    if isinstance(expected, str):
        assert isinstance(found, str) and found.startswith(expected), found
        return
    assert isinstance(found, dict) and set(found) == set(expected), found
    for key, inner in expected.items():
        _assert_named(found[key], inner)
