"""``Predictor.explain`` with several classes per row: ``(n, K)`` in, ``(n, K, features)`` out."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from model_zoo import BuiltModel, training_frame

from scorecast.predictors import describe_model, load_predictor
from scorecast.predictors.base import pick_classes


@pytest.mark.parametrize(
    "name",
    [
        "skops_linear_multiclass",
        "lightgbm_multiclass",
        "xgboost_multiclass",
        "skops_hgb_multiclass",
    ],
)
def test_several_classes_per_row_equal_one_class_at_a_time(
    zoo: dict[str, BuiltModel], name: str
) -> None:
    model = zoo[name]
    description = describe_model(
        model.path, target="y", target_type="multiclass", positive_class=None
    )
    predictor = load_predictor(model.path, description)
    batch = pa.RecordBatch.from_pandas(
        training_frame(30, seed=13)[model.features], preserve_index=False
    )
    rng = np.random.default_rng(3)
    classes = np.stack([rng.permutation(3) for _ in range(30)]).astype(np.intp)
    together = predictor.explain(batch, classes)
    assert together.shape == (30, 3, len(model.features))
    for k in range(3):
        alone = predictor.explain(batch, classes[:, k])
        np.testing.assert_allclose(together[:, k], alone, rtol=0, atol=1e-12)
    # the classes differ: different contributions (a wrong pick would repeat one class)
    assert not np.allclose(together[:, 0], together[:, 1])


@given(
    rows=st.integers(0, 5),
    n_classes=st.integers(1, 4),
    n_features=st.integers(1, 3),
    data=st.data(),
)
def test_pick_classes_takes_each_rows_own_classes(
    rows: int, n_classes: int, n_features: int, data: st.DataObject
) -> None:
    per_class = np.arange(rows * n_classes * n_features, dtype=np.float64).reshape(
        rows, n_classes, n_features
    )
    width = data.draw(st.integers(1, 3))
    index = np.asarray(
        data.draw(
            st.lists(
                st.lists(st.integers(0, n_classes - 1), min_size=width, max_size=width),
                min_size=rows,
                max_size=rows,
            )
        ),
        dtype=np.intp,
    ).reshape(rows, width)
    picked = pick_classes(per_class, index)
    assert picked.shape == (rows, width, n_features)
    for i in range(rows):
        for k in range(width):
            assert picked[i, k].tolist() == per_class[i, index[i, k]].tolist()
    one = pick_classes(per_class, index[:, 0])
    assert one.shape == (rows, n_features)
    np.testing.assert_array_equal(one, picked[:, 0])
