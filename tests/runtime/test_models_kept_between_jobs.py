"""A warm job process keeps a few loaded ONNX and skops models from one job to the next
(``predictors.registry.keep_between_jobs``, run by ``job_traces.forget_job``): real model
files, loaded for real; and demo jobs of one deployment through a real worker, whose process
keeps the model from one job to the next.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from demo_jobs import register_demo, submit_demo, wait_ended
from sklearn.linear_model import LogisticRegression

from live_api import LiveServer
from scorecast.demo import MODEL
from scorecast.predictors import registry
from scorecast.predictors.base import ModelDescription
from scorecast.predictors.registry import describe_model, load_predictor
from scorecast.runtime import job_traces
from scorecast.runtime.worker import Worker


@pytest.fixture(autouse=True)
def _no_models_loaded() -> Iterator[None]:
    registry.forget_loaded()
    yield
    registry.forget_loaded()


def _demo(path: Path) -> tuple[Path, ModelDescription]:
    shutil.copyfile(MODEL, path)
    described = describe_model(
        path, target="readmitted", target_type="binary", positive_class="yes"
    )
    return path, described


def _between_jobs() -> None:
    baseline = job_traces.Baseline.now()
    folder = job_traces.begin_job(baseline)
    assert job_traces.forget_job(baseline, folder) == []


def test_the_next_job_gets_the_model_loaded_for_the_last_one(tmp_path: Path) -> None:
    artifact, description = _demo(tmp_path / "model.onnx")
    first = load_predictor(artifact, description)
    _between_jobs()
    assert load_predictor(artifact, description) is first


def test_a_kept_model_is_not_shared_by_another_artifact_or_declaration(tmp_path: Path) -> None:
    artifact, description = _demo(tmp_path / "model.onnx")
    other_artifact, other_description = _demo(tmp_path / "other.onnx")
    first = load_predictor(artifact, description)
    _between_jobs()
    assert load_predictor(other_artifact, other_description) is not first
    flipped = describe_model(
        artifact, target="readmitted", target_type="binary", positive_class="no"
    )
    by_flipped = load_predictor(artifact, flipped)
    assert by_flipped is not first
    assert by_flipped.description.positive_class == "no"
    assert load_predictor(artifact, description) is first


def test_a_changed_artifact_is_loaded_again(tmp_path: Path) -> None:
    artifact, description = _demo(tmp_path / "model.onnx")
    first = load_predictor(artifact, description)
    _between_jobs()
    replacement = tmp_path / "replacement.onnx"
    shutil.copyfile(MODEL, replacement)
    replacement.replace(artifact)  # a new file under the same name
    second = load_predictor(artifact, description)
    assert second is not first
    artifact.write_bytes(MODEL.read_bytes())  # the same file rewritten in place
    assert load_predictor(artifact, description) is not second


def test_the_models_kept_are_bounded_in_count_and_file_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = [_demo(tmp_path / f"model-{index}.onnx") for index in range(registry.KEPT_MODELS + 2)]
    for artifact, description in models:
        load_predictor(artifact, description)
    _between_jobs()
    kept = [str(artifact) for artifact, _ in models[-registry.KEPT_MODELS :]]
    assert [path for path, _ in registry.loaded_models()] == kept  # the latest used

    size = MODEL.stat().st_size
    monkeypatch.setattr(registry, "KEPT_BYTES", 2 * size)
    _between_jobs()
    assert [path for path, _ in registry.loaded_models()] == kept[-2:]
    monkeypatch.setattr(registry, "KEPT_BYTES", size - 1)
    _between_jobs()
    assert registry.loaded_models() == []


def test_a_skops_model_is_kept_and_a_pickle_model_is_not(tmp_path: Path) -> None:
    skops_io = pytest.importorskip("skops.io")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(50, 2)), columns=["num_a", "num_b"])
    model = LogisticRegression().fit(frame, np.where(frame.num_a > 0, "yes", "no"))
    skops_io.dump(model, tmp_path / "model.skops")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    declared = {"target": "label", "target_type": "binary", "positive_class": "yes"}
    skops_model = tmp_path / "model.skops"
    pickle_model = tmp_path / "model.pkl"
    load_predictor(skops_model, describe_model(skops_model, **declared))  # type: ignore[arg-type]
    load_predictor(
        pickle_model,
        describe_model(pickle_model, trust_pickle=True, **declared),  # type: ignore[arg-type]
    )
    assert {fmt for _, fmt in registry.loaded_models()} == {"skops", "pickle"}
    _between_jobs()
    assert registry.loaded_models() == [(str(skops_model), "skops")]


@pytest.mark.e2e
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_jobs_of_one_deployment_in_one_process_score_alike_and_keep_their_logs(
    live_server: LiveServer,
) -> None:
    worker = Worker(live_server.settings, live_server.engine, lease_seconds=5.0)
    worker.start()
    try:
        with httpx.Client(
            base_url=live_server.url + "/", headers=live_server.headers(), timeout=60
        ) as http:
            deployment = register_demo(http)
            states = [wait_ended(http, submit_demo(http, deployment)) for _ in range(3)]
            results = [http.get(state["links"]["download"]).content for state in states]
    finally:
        worker.stop()
    assert [state["status"] for state in states] == ["COMPLETED"] * 3
    assert len({worker.job_process_ids[state["id"]] for state in states}) == 1
    assert results[0] == results[1] == results[2]
    for state in states:  # the line logged while scoring, stored when the job ended
        assert [line for line in state["logs"] if line.startswith("scoring with")], state["logs"]
