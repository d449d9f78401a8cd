"""``parse_feature_names``: the column names given at registration as ``a,b,c``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.model_description import MAX_FEATURE_NAME, parse_feature_names
from scorecast.errors import InvalidInput

names = (
    st.text(
        st.characters(blacklist_characters=",", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


@given(st.lists(names, min_size=1, max_size=10, unique=True), st.sampled_from(["", " ", "  "]))
def test_names_round_trip_through_commas(given_names: list[str], space: str) -> None:
    assert parse_feature_names(f",{space}".join(given_names)) == given_names


@given(st.lists(names, min_size=1, max_size=5, unique=True), st.data())
def test_a_name_given_twice_is_refused(given_names: list[str], data: st.DataObject) -> None:
    repeated = data.draw(st.sampled_from(given_names))
    with pytest.raises(InvalidInput) as caught:
        parse_feature_names(",".join([*given_names, repeated]))
    assert "featureNames" in caught.value.errors
    assert "twice" in caught.value.errors["featureNames"]


@pytest.mark.parametrize("text", ["", "  ", "a,,b", "a,", ",a", "a, ,b"])
def test_empty_lists_and_names_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_feature_names(text)
    assert set(caught.value.errors) == {"featureNames"}


def test_overlong_names_are_refused() -> None:
    assert parse_feature_names("x" * MAX_FEATURE_NAME) == ["x" * MAX_FEATURE_NAME]
    with pytest.raises(InvalidInput):
        parse_feature_names("a," + "x" * (MAX_FEATURE_NAME + 1))
