"""CSV passthrough columns are copied as their input text, and a row scores the same whatever
else its chunk holds (the fast and the careful CSV parse read values alike)."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_zoo import BuiltModel
from test_run_job import describe, score_file

from hypothesis_profiles import examples
from scorecast.domain.csv_settings import CsvSettings
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import score_chunk
from scorecast.engine.runner import csv_column_types
from scorecast.formats import decode_csv_block, parse_header
from scorecast.formats.chunks import CsvBlock
from scorecast.predictors.registry import load_predictor

HEADER = "id,note,num_a,num_b,num_c,cat_a\n"
PASSTHROUGH = ScoringOptions(
    include_prediction_status=True, passthrough_columns=("id", "note", "num_a", "cat_a")
)
#: texts pyarrow's CSV reader would read as null, and numbers it would rewrite
TRICKY = ["NA", "null", "N/A", "nan", "NULL", "#N/A", "n/a", "None", "<NA>", "-nan"]
NUMBERS = ["1.50", "1e3", "-0", "007", "0x10", " 2 "]


def _rows(path: Path, fmt: str) -> list[dict[str, str | None]]:
    if fmt == "csv":
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_passthrough_columns_are_copied_as_their_text(
    zoo: dict[str, BuiltModel], tmp_path: Path, fmt: str
) -> None:
    lines = [f"{t},{t},1,2,3,{t}" for t in TRICKY] + [
        f"n{i},x,{v},2,3,red" for i, v in enumerate(NUMBERS)
    ]
    source = tmp_path / "in.csv"
    source.write_text(HEADER + "\n".join(lines) + "\n")
    out = tmp_path / f"out.{fmt}"
    score_file(zoo["skops_hgb_binary"], source, out, options=PASSTHROUGH, out_fmt=fmt)
    rows = _rows(out, fmt)
    assert [(r["id"], r["note"], r["cat_a"]) for r in rows[: len(TRICKY)]] == [
        (t, t, t) for t in TRICKY
    ]
    assert [r["num_a"] for r in rows[len(TRICKY) :]] == NUMBERS
    statuses = [r["prediction_status"] for r in rows]
    assert statuses[:-2] == ["OK"] * (len(rows) - 2)
    assert statuses[-2] == "column 'num_a': '0x10' is not a number"  # the model reads no 0x10
    assert statuses[-1] == "OK"  # spaces around a number, as the CSV reader allows


def test_missing_text_is_missing_for_the_model_whether_or_not_passed_through(
    zoo: dict[str, BuiltModel], tmp_path: Path
) -> None:
    model = zoo["skops_hgb_binary"]
    source = tmp_path / "in.csv"
    source.write_text(HEADER + "".join(f"a,x,{t},2,3,{t}\n" for t in TRICKY) + "b,x,,2,3,\n")
    scored = {}
    for name, options in {"copied": PASSTHROUGH, "not copied": ScoringOptions()}.items():
        score_file(model, source, tmp_path / f"{name}.csv", options=options)
        scored[name] = [r["y_yes_PREDICTION"] for r in _rows(tmp_path / f"{name}.csv", "csv")]
    assert scored["copied"] == scored["not copied"]
    # every missing text reads as the empty field does, except "None" and "<NA>", which
    # pyarrow never read as missing
    expected = {scored["copied"][-1]}
    assert {
        p for t, p in zip(TRICKY, scored["copied"], strict=False) if t not in ("None", "<NA>")
    } == expected


VALUES = st.sampled_from(["", "1", "2.5", "x", "red", "blue", "0x10", *TRICKY])


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    rows=st.lists(st.lists(VALUES, min_size=6, max_size=6), min_size=1, max_size=8),
    ragged_at=st.integers(0, 8),
)
def test_a_row_scores_the_same_whatever_else_its_chunk_holds(
    zoo: dict[str, BuiltModel], rows: list[list[str]], ragged_at: int
) -> None:
    model = zoo["skops_hgb_binary"]
    description = describe(model)
    predictor = load_predictor(model.path, description)
    settings_ = CsvSettings()
    names = parse_header(HEADER.encode(), settings_)
    # num_a, both a feature and copied, read as text; num_b and num_c as numbers
    types = {**csv_column_types(names, description, ()), "num_a": pa.string()}
    lines = [",".join(row) + "\n" for row in rows]
    with_ragged = [*lines[:ragged_at], "r,x,1,2\n", *lines[ragged_at:]]

    def scored(chunk_lines: list[str]) -> list[dict[str, object]]:
        block = CsvBlock(HEADER.encode(), "".join(chunk_lines).encode(), settings_)
        batch = decode_csv_block(replace(block, column_types=types))
        return score_chunk(
            predictor, description, PASSTHROUGH, batch, from_csv=True
        ).batch.to_pylist()

    clean, mixed = scored(lines), scored(with_ragged)
    position = min(ragged_at, len(lines))
    assert "fields" in str(mixed.pop(position)["prediction_status"])
    assert mixed == clean
