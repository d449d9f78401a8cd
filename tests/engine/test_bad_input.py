"""The bad-input corpus: each input gives its documented outcome, and the next job still runs.
The inputs come from ``tests/bad_inputs.py``, shared with the same corpus through a running
service (``tests/e2e/test_bad_input_service.py``).

| input                         | outcome                                                      |
|-------------------------------|--------------------------------------------------------------|
| truncated file (cut mid-row)  | COMPLETED; the cut row fails (too few fields), others scored |
| ragged rows                   | COMPLETED; each ragged row fails with its field count         |
| wrong types                   | COMPLETED; each row with a non-number in a numeric feature    |
|                               | fails, naming the column and value                            |
| more than 100 bad rows and 1% | ABORTED (abortOnError); with abortOnError false COMPLETED     |
| every row bad                 | ABORTED (abortOnError); nothing could be scored               |
| empty file                    | FAILED: "the input is empty"                                  |
| header only                   | COMPLETED with 0 rows; the output has the header              |
| missing feature columns       | FAILED at the first chunk, naming the columns                 |
| one 20 MB line                | COMPLETED; that row fails, the rows around it are scored      |
| a binary file named .csv      | FAILED: its "header" lacks the feature columns                |
| a feature or passthrough      | FAILED at the first chunk, naming the column (it was an        |
| column named twice            | internal error: "Field ... exists 2 times in schema")         |
| an input column named like an | FAILED before any output is written, naming the column (no    |
| output column (``THRESHOLD``) | column silently replaces the other)                           |
| a remapping giving two output | FAILED before any output is written, naming the columns       |
| columns one name              |                                                               |
| a quote that never closes     | COMPLETED; that row fails, the rows after it are scored       |
| a header that cannot be read  | FAILED, saying why (CR-only line ends, a quote that does not  |
|                               | close)                                                        |
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from engine_specs import spec_for
from model_zoo import FEATURES, BuiltModel, training_frame
from test_run_job import describe, score_file

import bad_inputs
from scorecast.domain.csv_settings import FileFormat
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import run_job
from scorecast.errors import JobFailure, ScorecastError
from scorecast.runtime.job_run import failure
from scorecast.testing import PathIntake, PathOutput

STATUS = ScoringOptions(include_prediction_status=True, passthrough_columns=("num_a",))


@pytest.fixture
def model(zoo: dict[str, BuiltModel]) -> BuiltModel:
    return zoo["skops_linear_binary"]


@pytest.fixture
def good_text() -> str:
    return training_frame(300, seed=4)[FEATURES].to_csv(index=False)


def _still_serving(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = tmp_path / "good.csv"
    source.write_text(good_text)
    outcome = score_file(model, source, tmp_path / "good_out.csv")
    assert outcome.rows_scored == 300 and outcome.rows_failed == 0


def _status(path: Path) -> list[str]:
    return pd.read_csv(path).prediction_status.tolist()


def test_truncated_file(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = tmp_path / "truncated.csv"
    source.write_text(bad_inputs.truncated(good_text))
    outcome = score_file(model, source, tmp_path / "out.csv", options=STATUS, chunk_size=2_000)
    assert outcome.rows_failed == 1 and outcome.rows_scored == 299
    statuses = _status(tmp_path / "out.csv")
    assert "fields" in statuses[-1] and set(statuses[:-1]) == {"OK"}


def test_ragged_rows(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = tmp_path / "ragged.csv"
    source.write_text(bad_inputs.ragged(good_text, extra_field_line=5, missing_field_line=9))
    outcome = score_file(model, source, tmp_path / "out.csv", options=STATUS, chunk_size=2_000)
    assert (outcome.rows_scored, outcome.rows_failed) == (298, 2)
    statuses = _status(tmp_path / "out.csv")
    assert statuses[4] == "row has 5 fields, the header has 4"
    assert statuses[8] == "row has 3 fields, the header has 4"


def test_wrong_types(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = tmp_path / "types.csv"
    source.write_text(bad_inputs.wrong_type(good_text, line=3, column=1, value="twelve"))
    outcome = score_file(model, source, tmp_path / "out.csv", options=STATUS)
    assert (outcome.rows_scored, outcome.rows_failed) == (299, 1)
    assert _status(tmp_path / "out.csv")[2] == "column 'num_b': 'twelve' is not a valid double"


def _many_bad(good_text: str, tmp_path: Path, bad: int) -> Path:
    source = tmp_path / "many_bad.csv"
    source.write_text(bad_inputs.with_bad_rows(good_text, "oops,1,2,red", bad))
    return source


def test_abort_on_error_threshold(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = _many_bad(good_text, tmp_path, bad=150)
    with pytest.raises(JobFailure, match="aborted on errors") as caught:
        score_file(model, source, tmp_path / "out.csv", chunk_size=2_000)
    assert caught.value.abort
    assert not (tmp_path / "out.csv").exists()
    options = ScoringOptions(abort_on_error=False, include_prediction_status=True)
    outcome = score_file(model, source, tmp_path / "out.csv", options=options, chunk_size=2_000)
    assert (outcome.rows_scored, outcome.rows_failed) == (300, 150)
    _still_serving(model, good_text, tmp_path)


def test_few_bad_rows_do_not_abort(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = _many_bad(good_text, tmp_path, bad=50)
    outcome = score_file(model, source, tmp_path / "out.csv", chunk_size=2_000)
    assert (outcome.rows_scored, outcome.rows_failed) == (300, 50)


def test_every_row_bad_aborts(model: BuiltModel, tmp_path: Path) -> None:
    source = tmp_path / "all_bad.csv"
    source.write_text("num_a,num_b,num_c,cat_a\n" + "x,y,z,red\n" * 5)
    with pytest.raises(JobFailure, match="no row could be scored") as caught:
        score_file(model, source, tmp_path / "out.csv")
    assert caught.value.abort


def test_empty_file(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = tmp_path / "empty.csv"
    source.write_bytes(b"")
    with pytest.raises(JobFailure, match="the input is empty") as caught:
        score_file(model, source, tmp_path / "out.csv")
    assert not caught.value.abort
    _still_serving(model, good_text, tmp_path)


def test_header_only(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = tmp_path / "header.csv"
    source.write_text(bad_inputs.header_only(good_text))
    outcome = score_file(model, source, tmp_path / "out.csv", options=STATUS)
    assert (outcome.rows_scored, outcome.rows_failed) == (0, 0)
    assert (tmp_path / "out.csv").read_text().splitlines() == [
        '"num_a","y_no_PREDICTION","y_yes_PREDICTION","y_PREDICTION","THRESHOLD",'
        '"POSITIVE_CLASS","prediction_status"'
    ]


def test_missing_columns(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = tmp_path / "missing.csv"
    source.write_text("num_a,cat_a,other\n1,red,3\n")
    with pytest.raises(JobFailure, match="feature columns: num_b, num_c"):
        score_file(model, source, tmp_path / "out.csv")
    _still_serving(model, good_text, tmp_path)


@pytest.mark.parametrize("repeated", ["num_a", "cat_a"])
def test_a_feature_named_twice_fails_naming_it(
    model: BuiltModel, good_text: str, tmp_path: Path, repeated: str
) -> None:
    """``num_a`` is a feature and (``STATUS``) a passthrough column, ``cat_a`` a feature."""
    header, *rows = good_text.splitlines()
    names = header.split(",")
    doubled = [header + "," + repeated] + [
        row + "," + row.split(",")[names.index(repeated)] for row in rows
    ]
    source = tmp_path / "doubled.csv"
    source.write_text("\n".join(doubled) + "\n")
    with pytest.raises(JobFailure, match=f"names the column '{repeated}' more than once"):
        score_file(model, source, tmp_path / "out.csv", options=STATUS)
    _still_serving(model, good_text, tmp_path)


def test_one_very_long_line(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = tmp_path / "long.csv"
    with source.open("wb") as handle:
        handle.writelines(bad_inputs.with_long_line(good_text, 20 << 20, at=3))
    outcome = score_file(model, source, tmp_path / "out.csv", options=STATUS, chunk_size=1 << 20)
    assert (outcome.rows_scored, outcome.rows_failed) == (300, 1)
    statuses = _status(tmp_path / "out.csv")
    assert statuses[2] == "row has 1 fields, the header has 4"


def test_binary_file_named_csv(model: BuiltModel, good_text: str, tmp_path: Path) -> None:
    source = tmp_path / "image.csv"
    source.write_bytes(bad_inputs.binary(2_000_000))
    with pytest.raises(JobFailure, match=r"feature columns|cannot be read") as caught:
        score_file(model, source, tmp_path / "out.csv")
    assert "Traceback" not in caught.value.message
    _still_serving(model, good_text, tmp_path)


def test_rows_the_model_refuses_fail_alone(good_text: str, tmp_path: Path) -> None:
    """A OneHotEncoder(handle_unknown='error') raises for the whole batch on an unseen
    category; the engine bisects the chunk so that only those rows fail."""
    import skops.io
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = training_frame()
    strict = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="error"), ["cat_a"]), remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(frame[FEATURES], frame.y_bin)
    path = tmp_path / "strict.skops"
    skops.io.dump(strict, path)
    model = BuiltModel("skops", path, "binary", strict, FEATURES)
    lines = good_text.splitlines()
    for index in (7, 150, 151):
        lines[index] = lines[index].rsplit(",", 1)[0] + ",purple"
    source = tmp_path / "unseen.csv"
    source.write_text("\n".join(lines) + "\n")
    outcome = score_file(model, source, tmp_path / "out.csv", options=STATUS)
    assert (outcome.rows_scored, outcome.rows_failed) == (297, 3)
    statuses = _status(tmp_path / "out.csv")
    failed = [i for i, s in enumerate(statuses) if s != "OK"]
    assert failed == [6, 149, 150]
    assert "could not score this row" in statuses[6] and "purple" in statuses[6]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    ("options", "match"),
    [
        (
            ScoringOptions(passthrough_all=True),
            "the input column 'THRESHOLD' has the name of a column the scoring writes",
        ),
        (
            ScoringOptions(passthrough_columns=("THRESHOLD", "num_a")),
            "the input column 'THRESHOLD' has the name of a column the scoring writes",
        ),
        (
            ScoringOptions(
                column_names_remapping={"y_no_PREDICTION": "x", "y_yes_PREDICTION": "x"}
            ),
            r"gives the output columns \['y_no_PREDICTION', 'y_yes_PREDICTION'\] the same name 'x'",
        ),
        (
            ScoringOptions(
                include_prediction_status=True,
                column_names_remapping={"y_PREDICTION": "prediction_status"},
            ),
            "the same name 'prediction_status'",
        ),
        (
            ScoringOptions(
                passthrough_columns=("num_a",), column_names_remapping={"num_a": "THRESHOLD"}
            ),
            "the same name 'THRESHOLD'",
        ),
    ],
)
def test_two_output_columns_of_one_name_fail_before_any_output(
    model: BuiltModel,
    good_text: str,
    tmp_path: Path,
    *,
    fmt: FileFormat,
    options: ScoringOptions,
    match: str,
) -> None:
    frame = pd.read_csv(io.StringIO(good_text)).assign(THRESHOLD=0.9)
    source = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        frame.to_csv(source, index=False)
    else:
        frame.to_parquet(source)
    destination = tmp_path / f"out.{fmt}"
    output = _CountingOutput(destination, fmt)
    with pytest.raises(JobFailure, match=match) as caught:
        run_job(
            spec_for(options),
            PathIntake(source, fmt),
            output,
            artifact=model.path,
            description=describe(model),
            report=lambda _: None,
            should_abort=lambda: False,
            log=lambda _: None,
        )
    assert not caught.value.abort
    assert output.batches == 0
    _still_serving(model, good_text, tmp_path)


class _CountingOutput(PathOutput):
    """A ``PathOutput`` that counts the batches written to it."""

    batches = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.batches += 1
        super().write(batch)


def test_an_output_column_name_dropped_by_the_remapping_is_no_clash(
    model: BuiltModel, good_text: str, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    pd.read_csv(io.StringIO(good_text)).assign(THRESHOLD=0.9).to_csv(source, index=False)
    options = ScoringOptions(passthrough_all=True, column_names_remapping={"THRESHOLD": None})
    score_file(model, source, tmp_path / "out.csv", options=options)
    assert "THRESHOLD" not in pd.read_csv(tmp_path / "out.csv").columns


def test_an_unclosed_quote_fails_its_row_alone(
    model: BuiltModel, good_text: str, tmp_path: Path
) -> None:
    """pyarrow reads a quoted field running to the end of the chunk: the rows after it would
    vanish from a COMPLETED job."""
    lines = good_text.splitlines()
    lines[6] = lines[6].rsplit(",", 1)[0] + ',"red'  # the 6th row: cat_a opens a quote
    source = tmp_path / "unclosed.csv"
    source.write_text("\n".join(lines) + "\n")
    outcome = score_file(model, source, tmp_path / "out.csv", options=STATUS)
    assert (outcome.rows_scored, outcome.rows_failed) == (299, 1)
    statuses = _status(tmp_path / "out.csv")
    assert len(statuses) == 300 and "does not close" in statuses[5]
    assert statuses[:5] == ["OK"] * 5 and set(statuses[6:]) == {"OK"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("num_a,num_b,num_c,cat_a\r1,2,3,red\r4,5,6,blue\r", "lone CR"),
        ('num_a,num_b,"num_c,cat_a\n1,2,3,red\n4,5,6,blue\n', "does not close"),
    ],
)
def test_an_unreadable_header_fails_the_job_with_a_message(
    model: BuiltModel, good_text: str, tmp_path: Path, text: str, message: str
) -> None:
    source = tmp_path / "header.csv"
    source.write_text(text, newline="")
    with pytest.raises(ScorecastError) as caught:
        score_file(model, source, tmp_path / "out.csv")
    status, shown = failure(caught.value, abort_requested=False)
    assert status == "FAILED" and "CSV header" in shown and message in shown
    _still_serving(model, good_text, tmp_path)
