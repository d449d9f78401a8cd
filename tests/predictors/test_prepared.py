"""Prepared models: a skops model's checked object, pickled and signed, loaded only when the
signature verifies for this artifact and these library versions."""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from model_zoo import BuiltModel, training_frame

from scorecast.domain.model_description import ModelDescription
from scorecast.predictors import describe_model, prepared, sklearn_skops

KEY, OTHER_KEY = b"k" * 32, b"o" * 32


@pytest.fixture
def keys() -> Iterator[None]:
    prepared.configure([KEY])
    yield
    prepared.configure([])


@pytest.fixture
def model(zoo: dict[str, BuiltModel], tmp_path: Path) -> BuiltModel:
    built = zoo["skops_hgb_binary"]
    path = tmp_path / "model.skops"
    shutil.copy(built.path, path)
    return BuiltModel(built.name, path, built.target_type, built.model, built.features)


def _description(model: BuiltModel) -> ModelDescription:
    return describe_model(model.path, target="y", target_type="binary", positive_class=None)


def _probabilities(estimator: object) -> np.ndarray:
    frame = training_frame(rows=50, seed=3)
    return estimator.predict_proba(frame)  # type: ignore[attr-defined,no-any-return]


def test_registering_prepares_the_model_and_loading_uses_it(model: BuiltModel, keys: None) -> None:
    description = _description(model)
    path = prepared.prepared_path(model.path)
    assert path.is_file() and (path.stat().st_mode & 0o777) == 0o600
    loaded = prepared.read(model.path, description.sha256)
    assert loaded is not None
    np.testing.assert_array_equal(_probabilities(loaded), _probabilities(model.model))


def test_nothing_is_prepared_or_read_without_keys(model: BuiltModel) -> None:
    description = _description(model)
    assert not prepared.prepared_path(model.path).exists()
    prepared.configure([KEY])
    try:
        prepared.write(model.path, description.sha256, model.model)
    finally:
        prepared.configure([])
    assert prepared.read(model.path, description.sha256) is None


def test_a_tampered_file_is_not_unpickled_and_the_artifact_is_loaded_again(
    model: BuiltModel, keys: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    description = _description(model)
    path = prepared.prepared_path(model.path)
    marker = tmp_path / "code-ran"
    header, signature, _ = path.read_bytes().split(b"\n", 3)[1:]
    evil = pickle.dumps(_RunsCode(str(marker)))
    path.write_bytes(prepared._MAGIC + header + b"\n" + signature + b"\n" + evil)
    with caplog.at_level(logging.WARNING, logger="scorecast.predictors"):
        assert prepared.read(model.path, description.sha256) is None
    assert "does not verify" in caplog.text
    predictor = sklearn_skops.load(model.path, description)  # the safe way, and prepared again
    assert not marker.exists()
    assert prepared.read(model.path, description.sha256) is not None
    assert predictor is not None


def test_a_signed_file_that_cannot_be_unpickled_is_ignored(
    model: BuiltModel, keys: None, caplog: pytest.LogCaptureFixture
) -> None:
    description = _description(model)
    header = prepared._header(description.sha256)
    payload = b"not a pickle"
    signature = prepared._sign(KEY, header, payload).hex().encode()
    prepared.prepared_path(model.path).write_bytes(
        prepared._MAGIC + header + b"\n" + signature + b"\n" + payload
    )
    with caplog.at_level(logging.WARNING, logger="scorecast.predictors"):
        assert prepared.read(model.path, description.sha256) is None
    assert "cannot be unpickled" in caplog.text
    assert sklearn_skops.load(model.path, description) is not None  # the safe way, again
    assert prepared.read(model.path, description.sha256) is not None


def test_a_file_of_the_first_format_is_ignored(model: BuiltModel, keys: None) -> None:
    """Files written before the skops check refused functions named under ``sklearn.`` (format
    1) may hold what that check let through: they are never read, however well signed, and
    the artifact is checked again."""
    description = _description(model)
    assert sklearn_skops.load(model.path, description) is not None
    path = prepared.prepared_path(model.path)
    current = path.read_bytes()
    assert current.startswith(prepared._MAGIC)
    path.write_bytes(b"scorecast-prepared 1\n" + current[len(prepared._MAGIC) :])
    assert prepared.read(model.path, description.sha256) is None
    assert sklearn_skops.load(model.path, description) is not None  # the safe way, again
    assert path.read_bytes().startswith(prepared._MAGIC)


def test_a_file_signed_with_another_key_is_ignored(model: BuiltModel, keys: None) -> None:
    description = _description(model)
    prepared.configure([OTHER_KEY])
    assert prepared.read(model.path, description.sha256) is None
    prepared.configure([OTHER_KEY, KEY])  # a rotated key still verifies what it signed
    assert prepared.read(model.path, description.sha256) is not None


def test_a_file_for_another_artifact_is_ignored(model: BuiltModel, keys: None) -> None:
    description = _description(model)
    assert prepared.read(model.path, "0" * 64) is None
    assert prepared.read(model.path, description.sha256) is not None


@pytest.mark.parametrize("content", [b"", b"garbage", b"scorecast-prepared 1\nno-newlines"])
def test_a_malformed_file_is_ignored(model: BuiltModel, keys: None, content: bytes) -> None:
    description = _description(model)
    prepared.prepared_path(model.path).write_bytes(content)
    assert prepared.read(model.path, description.sha256) is None


def test_a_prepared_file_that_cannot_be_stored_only_costs_time(
    model: BuiltModel, keys: None
) -> None:
    prepared.prepared_path(model.path).mkdir()  # what is in the way cannot be replaced
    description = _description(model)
    assert prepared.read(model.path, description.sha256) is None
    left = sorted(path.name for path in model.path.parent.iterdir())  # no temporary file
    assert left == sorted([model.path.name, prepared.prepared_path(model.path).name])


def test_a_process_loading_a_prepared_model_does_not_import_skops(
    model: BuiltModel, keys: None
) -> None:
    description = json.dumps(_description(model).to_dict())
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from scorecast.predictors import prepared\n"
        "from scorecast.predictors.registry import load_predictor\n"
        "from scorecast.domain.model_description import ModelDescription\n"
        f"prepared.configure([{KEY!r}])\n"
        f"description = ModelDescription.from_dict(json.loads({description!r}))\n"
        f"load_predictor(Path({str(model.path)!r}), description)\n"
        "print('skops' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


class _RunsCode:
    """Unpickling this creates the marker file: what a forged prepared file would do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))
