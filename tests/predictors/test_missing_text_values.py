"""A missing text value reaches a scikit-learn model as it was fitted on: NaN or None."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import skops.io
from model_zoo import FEATURES, linear_pipeline, training_frame

from scorecast.predictors import describe_model, load_predictor


@pytest.mark.parametrize("marker", [np.nan, None], ids=["nan", "none"])
def test_a_missing_text_value_scores_as_the_models_own_missing_category(
    tmp_path: Path, marker: Any
) -> None:
    frame = training_frame().astype({"cat_a": object})
    frame.loc[frame.index[::7], "cat_a"] = marker
    model = linear_pipeline("binary").fit(frame[FEATURES], frame.y_bin)
    categories = model[0].named_transformers_["onehotencoder"].categories_[0]
    # the encoder learned a category of its own for the missing value, None or NaN
    assert sum(c is None for c in categories) == (marker is None)
    assert sum(isinstance(c, float) and np.isnan(c) for c in categories) == (marker is not None)
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)

    description = describe_model(path, target="y", target_type="binary", positive_class=None)
    predictor = load_predictor(path, description)
    batch = pa.RecordBatch.from_pandas(frame[FEATURES], preserve_index=False)
    assert batch.column("cat_a").null_count == len(frame.index[::7])  # nulls in Arrow

    expected = model.predict_proba(frame[FEATURES])
    np.testing.assert_allclose(predictor.predict(batch), expected, rtol=0, atol=1e-12)
    # the missing rows score otherwise than an unknown category would
    unknown = frame[FEATURES].copy()
    unknown.loc[unknown.index[::7], "cat_a"] = "never seen"
    assert not np.allclose(model.predict_proba(unknown)[::7], expected[::7])
