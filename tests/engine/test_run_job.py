"""run_job end to end over local files: golden output, order, options, progress, abort."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from engine_specs import spec_for
from model_zoo import FEATURES, BuiltModel, training_frame

from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.domain.job_spec import ChunkSize
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import JobOutcome, Progress, run_job
from scorecast.engine.pools import native_threads_per_process
from scorecast.errors import JobFailure
from scorecast.predictors import ModelDescription, describe_model
from scorecast.testing import PathIntake, PathOutput

#: how run_job describes 2 scoring processes sharing this machine's cores
TWO_PROCESSES = (
    f"this process and 1 worker process(es), {native_threads_per_process(2)} native thread(s) each"
)
#: how run_job describes 2 scoring threads sharing them
TWO_THREADS = f"2 threads, {native_threads_per_process(2)} native thread(s) each"


def describe(model: BuiltModel, **extra: Any) -> ModelDescription:
    return describe_model(
        model.path,
        target="y",
        target_type=model.target_type,
        positive_class=None,
        trust_pickle=model.trust_pickle,
        **extra,
    )


def score_file(
    model: BuiltModel,
    source: Path,
    destination: Path,
    *,
    options: ScoringOptions | None = None,
    csv: CsvSettings | None = None,
    fmt: FileFormat = "csv",
    out_fmt: FileFormat | None = None,
    num_concurrent: int = 2,
    chunk_size: ChunkSize = 40_000,
    description: ModelDescription | None = None,
    should_abort: Any = lambda: False,
    progress: list[Progress] | None = None,
    logs: list[str] | None = None,
    total_bytes: int | None = None,
) -> JobOutcome:
    spec = spec_for(options, csv=csv, num_concurrent=num_concurrent, chunk_size=chunk_size)
    intake = PathIntake(source, fmt, spec.csv)
    output = PathOutput(destination, out_fmt or fmt, spec.csv)
    try:
        outcome = run_job(
            spec,
            intake,
            output,
            artifact=model.path,
            description=description or describe(model),
            report=(progress if progress is not None else []).append,
            should_abort=should_abort,
            log=(logs if logs is not None else []).append,
            total_bytes=total_bytes,
        )
    except BaseException:
        output.abort()
        raise
    finally:
        intake.close()
    output.commit()
    return outcome


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = training_frame(6000, seed=21)[FEATURES]
    data.insert(0, "row_id", np.arange(len(data)))
    return data


@pytest.fixture(scope="module")
def input_csv(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "input.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("skops_linear_binary", TWO_THREADS),
        ("skops_hgb_multiclass", TWO_THREADS),
        ("skops_forest_binary", TWO_PROCESSES),
        ("lightgbm_binary", TWO_THREADS),
        ("onnx_linear_regression", TWO_THREADS),
    ],
)
def test_many_chunks_in_parallel_give_the_models_predictions_in_input_order(  # noqa: PLR0917
    zoo: dict[str, BuiltModel],
    frame: pd.DataFrame,
    input_csv: Path,
    tmp_path: Path,
    name: str,
    mode: str,
) -> None:
    model = zoo[name]
    progress: list[Progress] = []
    outcome = score_file(
        model,
        input_csv,
        tmp_path / "out.csv",
        options=ScoringOptions(passthrough_columns=("row_id",)),
        progress=progress,
    )
    assert outcome.parallelism == mode
    assert outcome.chunks > 5
    assert (outcome.rows_scored, outcome.rows_failed) == (len(frame), 0)
    assert progress and progress[-1].rows_scored == len(frame)
    assert outcome.bytes_read == input_csv.stat().st_size
    out = pd.read_csv(tmp_path / "out.csv")
    assert out.row_id.tolist() == frame.row_id.tolist()
    inputs = frame[model.features]
    if name.startswith("skops"):
        expected = model.model.predict_proba(inputs)
        labels = [str(c) for c in model.model.classes_]
        got = out[[f"y_{label}_PREDICTION" for label in labels]].to_numpy()
        np.testing.assert_allclose(got, expected, atol=1e-6)
        assert out.y_PREDICTION.astype(str).tolist() == model.model.predict(inputs).tolist()
    elif name.startswith("lightgbm"):
        positive = model.model.predict(inputs.to_numpy())
        np.testing.assert_allclose(out["y_1_PREDICTION"], positive, atol=1e-6)
    else:
        assert out.y_PREDICTION.notna().all()


def test_one_chunk_is_scored_in_process(
    zoo: dict[str, BuiltModel], input_csv: Path, tmp_path: Path
) -> None:
    outcome = score_file(
        zoo["skops_linear_binary"], input_csv, tmp_path / "out.csv", chunk_size="auto"
    )
    assert outcome.parallelism == "one process" and outcome.chunks == 1


def test_a_small_input_of_known_size_is_scored_in_process(
    zoo: dict[str, BuiltModel], input_csv: Path, tmp_path: Path
) -> None:
    size = input_csv.stat().st_size
    progress: list[Progress] = []
    outcome = score_file(
        zoo["skops_linear_binary"],
        input_csv,
        tmp_path / "out.csv",
        chunk_size=size // 2 + 1,
        total_bytes=size,
        progress=progress,
    )
    assert outcome.parallelism == "one process" and outcome.chunks > 1
    assert progress[-1].percentage == 100.0 and progress[-1].eta_seconds == 0.0


def test_parquet_in_and_out(
    zoo: dict[str, BuiltModel], frame: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), source, row_group_size=1000)
    model = zoo["skops_linear_regression"]
    options = ScoringOptions(passthrough_all=True)
    outcome = score_file(model, source, tmp_path / "out.parquet", options=options, fmt="parquet")
    assert outcome.rows_scored == len(frame) and outcome.chunks > 1
    out = pq.read_table(tmp_path / "out.parquet").to_pandas()
    assert out.row_id.tolist() == frame.row_id.tolist()
    assert out.row_id.dtype == np.int64  # parquet passthrough keeps its type
    np.testing.assert_allclose(out.y_PREDICTION, model.model.predict(frame[FEATURES]), atol=1e-6)


def test_csv_in_parquet_out_and_back(
    zoo: dict[str, BuiltModel], frame: pd.DataFrame, input_csv: Path, tmp_path: Path
) -> None:
    model = zoo["xgboost_multiclass"]
    score_file(model, input_csv, tmp_path / "out.parquet", out_fmt="parquet")
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.num_rows == len(frame)
    assert out.schema.names == [
        "y_0_PREDICTION",
        "y_1_PREDICTION",
        "y_2_PREDICTION",
        "y_PREDICTION",
    ]


def test_tab_delimiter_and_latin1_on_input_and_output(
    zoo: dict[str, BuiltModel], frame: pd.DataFrame, tmp_path: Path
) -> None:
    settings = CsvSettings(delimiter="\t", encoding="latin-1")
    data = frame.head(500).copy()
    data["note"] = "crème brûlée; à la carte"
    source = tmp_path / "in.tsv"
    data.to_csv(source, sep="\t", index=False, encoding="latin-1")
    options = ScoringOptions(passthrough_columns=("note", "row_id"))
    score_file(
        zoo["skops_linear_binary"], source, tmp_path / "out.tsv", options=options, csv=settings
    )
    raw = (tmp_path / "out.tsv").read_bytes()
    assert "crème".encode("latin-1") in raw and "crème".encode() not in raw
    out = pd.read_csv(tmp_path / "out.tsv", sep="\t", encoding="latin-1")
    assert out.note.unique().tolist() == ["crème brûlée; à la carte"]
    assert out.row_id.tolist() == data.row_id.tolist()


def test_explanations_and_status_through_a_job(
    zoo: dict[str, BuiltModel], frame: pd.DataFrame, input_csv: Path, tmp_path: Path
) -> None:
    options = ScoringOptions(
        max_explanations=2,
        threshold_high=0.7,
        include_prediction_status=True,
        passthrough_columns=("row_id",),
    )
    score_file(zoo["skops_linear_binary"], input_csv, tmp_path / "out.csv", options=options)
    out = pd.read_csv(tmp_path / "out.csv")
    explained = out.y_yes_PREDICTION > 0.7
    assert out.loc[explained, "EXPLANATION_1_FEATURE_NAME"].notna().all()
    assert out.loc[~explained, "EXPLANATION_1_FEATURE_NAME"].isna().all()
    assert set(out.EXPLANATION_1_QUALITATIVE_STRENGTH.dropna()) <= {
        "+++",
        "---",
        "++",
        "--",
        "+",
        "-",
    }
    assert (out.prediction_status == "OK").all()


def test_explanations_of_a_hist_gradient_boosting_pipeline_through_a_job(
    zoo: dict[str, BuiltModel], frame: pd.DataFrame, input_csv: Path, tmp_path: Path
) -> None:
    from scorecast.predictors.sklearn_tree_explain import TreeExplainer

    model = zoo["skops_hgb_binary"]
    options = ScoringOptions(max_explanations=2, passthrough_columns=("row_id",))
    score_file(model, input_csv, tmp_path / "out.csv", options=options)
    out = pd.read_csv(tmp_path / "out.csv").sort_values("row_id")
    for i in (1, 2):
        assert f"EXPLANATION_{i}_STRENGTH" in out.columns
    assert out.EXPLANATION_1_FEATURE_NAME.isin(FEATURES).all()
    explainer = TreeExplainer.build(model.model, FEATURES)
    assert isinstance(explainer, TreeExplainer)
    contributions = explainer.contributions(frame[FEATURES], 0)
    named = [FEATURES.index(name) for name in out.EXPLANATION_1_FEATURE_NAME]
    top = contributions[out.row_id.to_numpy(), named]
    np.testing.assert_allclose(out.EXPLANATION_1_STRENGTH, top, rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(top) >= np.abs(contributions).max(axis=1) - 1e-9)


def test_progress_and_abort(zoo: dict[str, BuiltModel], input_csv: Path, tmp_path: Path) -> None:
    calls = {"n": 0}

    def abort_soon() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(JobFailure, match="aborted") as caught:
        score_file(
            zoo["skops_hgb_binary"],
            input_csv,
            tmp_path / "out.csv",
            chunk_size=5_000,
            should_abort=abort_soon,
        )
    assert caught.value.abort is True
    assert not (tmp_path / "out.csv").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_prediction_warning_without_range_is_logged(
    zoo: dict[str, BuiltModel], input_csv: Path, tmp_path: Path
) -> None:
    logs: list[str] = []
    model = zoo["skops_linear_regression"]
    options = ScoringOptions(prediction_warning_enabled=True)
    score_file(model, input_csv, tmp_path / "a.csv", options=options, logs=logs)
    assert any("prediction range" in line for line in logs)
    assert "IS_OUTLIER_PREDICTION" not in pd.read_csv(tmp_path / "a.csv").columns
    ranged = describe(model, prediction_range=(-1.0, 1.0))
    score_file(model, input_csv, tmp_path / "b.csv", options=options, description=ranged)
    out = pd.read_csv(tmp_path / "b.csv")
    assert (
        out.IS_OUTLIER_PREDICTION.tolist()
        == ((out.y_PREDICTION < -1) | (out.y_PREDICTION > 1)).tolist()
    )


def test_prediction_warning_on_a_classifier_is_logged(
    zoo: dict[str, BuiltModel], input_csv: Path, tmp_path: Path
) -> None:
    """Classification deployments have no prediction warnings: a job that asks for them says
    so in its log (it was skipped without a word)."""
    logs: list[str] = []
    options = ScoringOptions(prediction_warning_enabled=True)
    score_file(
        zoo["skops_linear_binary"], input_csv, tmp_path / "a.csv", options=options, logs=logs
    )
    assert any("regression deployments and this one is binary" in line for line in logs), logs
    assert "IS_OUTLIER_PREDICTION" not in pd.read_csv(tmp_path / "a.csv").columns


def test_keys_without_effect_here_are_logged(
    zoo: dict[str, BuiltModel], input_csv: Path, tmp_path: Path
) -> None:
    """DataRobot keys accepted so that a DataRobot spec runs, but not acted on here, are named
    in the job's log (they were stored and echoed without a word)."""
    model = zoo["skops_linear_regression"]
    spec = dataclasses.replace(
        spec_for(),
        opaque={"explanationsMode": {"kind": "x"}, "secondaryDatasetsConfigId": "c" * 24},
        max_ngram_explanations=5,
    )
    logs: list[str] = []
    intake = PathIntake(input_csv, "csv", spec.csv)
    output = PathOutput(tmp_path / "out.csv", "csv", spec.csv)
    try:
        run_job(
            spec,
            intake,
            output,
            artifact=model.path,
            description=describe(model),
            report=lambda _: None,
            should_abort=lambda: False,
            log=logs.append,
        )
    finally:
        intake.close()
    noted = [line for line in logs if "no effect on this server" in line]
    assert noted == [
        "explanationsMode, secondaryDatasetsConfigId, maxNgramExplanations: accepted for "
        "compatibility with DataRobot, no effect on this server (see the DataRobot differences "
        "in the docs)"
    ], logs
