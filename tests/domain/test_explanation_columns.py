"""Which classes each multiclass row is explained for (pure, property-based)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scorecast.domain.explanation_columns import explained_classes
from scorecast.domain.output_names import explained_class_count
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.predictors.base import Feature, ModelDescription


def _multiclass(labels: list[str]) -> ModelDescription:
    return ModelDescription(
        format="skops",
        target="y",
        target_type="multiclass",
        features=[Feature("x")],
        sha256="0" * 64,
        class_labels=labels,
        can_explain=True,
    )


@st.composite
def _probabilities(draw: st.DrawFn) -> np.ndarray:
    classes = draw(st.integers(3, 8))
    rows = draw(st.integers(0, 12))
    # few distinct values, so ties are common
    values = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9])
    return draw(arrays(np.float64, (rows, classes), elements=values))


@given(probabilities=_probabilities(), data=st.data())
def test_top_classes_are_the_most_probable_first_ties_in_class_order(
    probabilities: np.ndarray, data: st.DataObject
) -> None:
    labels = [f"c{i}" for i in range(probabilities.shape[1])]
    top = data.draw(st.integers(1, len(labels)))
    options = ScoringOptions(max_explanations=1, explanation_num_top_classes=top)
    classes = explained_classes(_multiclass(labels), options, probabilities)
    assert classes is not None and classes.shape == (len(probabilities), top)
    for row, chosen in zip(probabilities, classes, strict=True):
        assert len(set(chosen.tolist())) == top
        assert chosen[0] == np.argmax(row)  # CLASS_1 is the predicted class
        ranked = sorted(range(len(row)), key=lambda k: (-row[k], k))
        assert chosen.tolist() == ranked[:top]


@given(
    rows=st.integers(0, 6),
    picked=st.permutations(["lo", "mid", "hi", "top"]),
    count=st.integers(1, 4),
)
def test_class_names_are_the_same_classes_in_the_same_order_for_every_row(
    rows: int, picked: list[str], count: int
) -> None:
    labels = ["lo", "mid", "hi", "top"]
    names = tuple(picked[:count])
    options = ScoringOptions(max_explanations=2, explanation_class_names=names)
    probabilities = np.random.default_rng(rows).random((rows, len(labels)))
    classes = explained_classes(_multiclass(labels), options, probabilities)
    assert classes is not None and classes.shape == (rows, count)
    assert all([labels[k] for k in row] == list(names) for row in classes)


def test_one_class_per_row_without_the_options_or_outside_multiclass() -> None:
    multi = _multiclass(["a", "b", "c"])
    probabilities = np.full((2, 3), 1 / 3)
    assert explained_classes(multi, ScoringOptions(max_explanations=3), probabilities) is None
    no_explanations = ScoringOptions(explanation_num_top_classes=2)
    assert explained_class_count(multi, no_explanations) == 0
    binary = ModelDescription(
        format="skops",
        target="y",
        target_type="binary",
        features=[Feature("x")],
        sha256="0" * 64,
        class_labels=["no", "yes"],
        positive_class="yes",
    )
    top = ScoringOptions(max_explanations=1, explanation_num_top_classes=2)
    assert explained_class_count(binary, top) == 0
    assert explained_class_count(multi, top) == 2
