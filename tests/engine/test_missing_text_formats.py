"""Missing-value texts (``NA``, ``null``, ...) are missing for the model only in CSV input, whose
text spells its missing values; in Parquet and database input, which have typed nulls, they are
values (``NA`` may be Namibia): in a numeric feature held as text, ``NA`` is then not a
number and fails its row, as ``x`` does."""

from __future__ import annotations

import pyarrow as pa
from model_zoo import BuiltModel
from test_run_job import describe

from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import score_chunk
from scorecast.predictors.registry import load_predictor

TEXTS = ["NA", None, "1.5", "x"]


def _statuses(model: BuiltModel, *, from_csv: bool) -> list[object]:
    description = describe(model)
    predictor = load_predictor(model.path, description)
    rows = len(TEXTS)
    columns = {
        feature.name: (
            pa.array(TEXTS, pa.string())
            if feature.name == "num_a"
            else pa.array([1.0] * rows, pa.float64())
            if feature.type == "numeric"
            else pa.array(["red"] * rows, pa.string())
        )
        for feature in description.features
    }
    batch = pa.RecordBatch.from_pydict(columns)
    options = ScoringOptions(include_prediction_status=True)
    scored = score_chunk(predictor, description, options, batch, from_csv=from_csv)
    return scored.batch.column("prediction_status").to_pylist()


def test_na_text_is_missing_from_csv_and_a_value_otherwise(
    zoo: dict[str, BuiltModel],
) -> None:
    model = zoo["skops_hgb_binary"]
    from_csv = _statuses(model, from_csv=True)
    typed = _statuses(model, from_csv=False)
    assert from_csv[:3] == ["OK", "OK", "OK"] and from_csv[3] != "OK"
    assert typed[1:] == from_csv[1:]
    assert typed[0] != "OK" and "NA" in str(typed[0]), typed
