"""``home_layout``: every key is built from checked ids only, and the stored forms round-trip."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast import home_layout as layout
from scorecast.errors import InvalidInput, NotFound

IDS = st.text(alphabet="0123456789abcdef", min_size=24, max_size=24)
NOT_IDS = st.text(max_size=40).filter(lambda t: not re.fullmatch(r"[0-9a-f]{24}", t))


@given(IDS, st.sampled_from(["", ".onnx", ".skops", ".json"]))
def test_artifact_keys_round_trip_through_the_stored_path(deployment: str, suffix: str) -> None:
    key = layout.artifact_key(deployment, suffix)
    assert key.startswith(layout.artifact_folder(deployment))
    assert layout.artifact_key_of(layout.stored_artifact_path(key)) == key


@given(IDS, IDS, st.sampled_from(["csv", "parquet"]))
def test_dataset_keys_round_trip_through_the_stored_path(
    dataset: str, version: str, file_format: str
) -> None:
    key = layout.dataset_key(dataset, version, file_format)
    assert key.startswith(layout.dataset_folder(dataset))
    assert layout.dataset_key_of(layout.stored_dataset_path(key)) == key


@given(NOT_IDS)
def test_no_key_is_built_from_text_that_is_not_an_id(text: str) -> None:
    for build in (layout.upload_folder, layout.result_folder, layout.result_manifest):
        with pytest.raises(NotFound):
            build(text)
    with pytest.raises(NotFound):
        layout.artifact_key(text, ".onnx")
    with pytest.raises(NotFound):
        layout.dataset_key(text, "a" * 24, "csv")


@given(IDS, st.integers(min_value=1, max_value=10_000), st.integers(0, 999_999))
def test_a_segment_key_names_its_job_and_attempt(job: str, attempt: int, number: int) -> None:
    key = layout.segment_key(layout.attempt_segments(job, attempt), number)
    assert layout.attempt_of_segment(key) == (job, attempt)
    assert layout.attempt_of_segment(layout.result_manifest(job)) is None
    assert layout.attempt_of_segment(layout.segment_key(layout.input_segments(job), 0)) is None


def test_part_numbers_and_suffixes_are_checked() -> None:
    job = "a" * 24
    assert layout.part_key(job, 0).startswith(layout.parts_folder(job))
    for bad in (-1, layout.MAX_PARTS):
        with pytest.raises(InvalidInput):
            layout.part_key(job, bad)
    with pytest.raises(InvalidInput):
        layout.artifact_key(job, "/../x")
    with pytest.raises(InvalidInput):
        layout.dataset_key(job, job, "exe")
