"""DataRobot's prediction explanation columns (wire reference §11), chosen and filled, without I/O.

One class per row (regression, binary, and multiclass without the options below): for i in
1..maxExplanations ``EXPLANATION_<i>_FEATURE_NAME/_STRENGTH/_ACTUAL_VALUE/_QUALITATIVE_STRENGTH``,
for the positive class (binary) or the predicted class (multiclass).

Several classes per row (multiclass with ``explanationNumTopClasses: n`` or
``explanationClassNames``): for k in 1..K ``CLASS_<k>`` (the class label), then
``CLASS_<k>_EXPLANATION_<i>_*`` for i in 1..maxExplanations. Class k is the row's k-th most
probable class (ties in the model's class order, so ``CLASS_1`` is the predicted class) or the
k-th listed class name.

Explanations: the features with the largest absolute contribution, strongest first (at most
one slot per feature). Qualitative strength compares a contribution with the largest absolute
contribution of any feature in the same row and class: above 50 % → ``+++``/``---``, above
20 % → ``++``/``--``, otherwise ``+``/``-`` (sign of the contribution). Rows outside the
explanation thresholds (``thresholdHigh``/``thresholdLow``, compared with the positive-class
probability, the regression value, or the top class probability) and failed rows get empty
explanation columns, ``CLASS_<k>`` included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from scorecast.domain.output_names import (
    class_column,
    class_explanation_column,
    explained_class_count,
    explanation_column,
)

if TYPE_CHECKING:
    from scorecast.domain.model_description import ModelDescription
    from scorecast.domain.scoring_options import ScoringOptions

#: cut-offs of the qualitative strength, as a fraction of the row's largest |contribution|
QUALITATIVE_CUTOFFS = (0.5, 0.2)

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


def qualitative_strength(strength: float, row_max_abs: float) -> str:
    """DataRobot's ``+++``..``---`` scale for one contribution (see the module docstring)."""
    if row_max_abs <= 0 or strength == 0 or np.isnan(strength):
        return "+" if strength >= 0 else "-"
    ratio = abs(strength) / row_max_abs
    marks = 3 if ratio > QUALITATIVE_CUTOFFS[0] else 2 if ratio > QUALITATIVE_CUTOFFS[1] else 1
    return ("+" if strength > 0 else "-") * marks


@dataclass(frozen=True)
class Explanations:
    """Per-row contributions of every feature; rows holding NaN are not explained.

    ``contributions`` is ``(n, n_features)`` for one class per row; with ``classes`` (an
    ``(n, K)`` array of indices into the model's class labels) it is ``(n, K, n_features)``:
    block k of row i speaks for class ``classes[i, k]``.
    """

    contributions: FloatArray
    classes: IndexArray | None = None


def explained_classes(
    description: ModelDescription, options: ScoringOptions, predictions: FloatArray
) -> IndexArray | None:
    """``(n, K)`` class indices each row is explained for, or None (one class per row).

    Top-n: the row's most probable classes, most probable first, ties in class order. Class
    names: the listed classes, in the listed order, for every row.
    """
    count = explained_class_count(description, options)
    if count == 0:
        return None
    labels = description.class_labels
    rows = len(predictions)
    if options.explanation_num_top_classes is None:
        wanted = np.asarray([labels.index(c) for c in options.explanation_class_names])
        return np.tile(wanted.astype(np.intp), (rows, 1))
    order = np.argsort(-np.nan_to_num(predictions), axis=1, kind="stable")[:, :count]
    return np.asarray(order, dtype=np.intp)


def explained_rows(
    description: ModelDescription,
    options: ScoringOptions,
    predictions: FloatArray,
    failed: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """Rows that get explanations: scored rows passing ``thresholdHigh``/``thresholdLow``."""
    if description.target_type == "regression":
        value = predictions.reshape(-1)
    elif description.target_type == "binary":
        value = predictions[:, description.class_labels.index(str(description.positive_class))]
    else:
        value = predictions.max(axis=1)
    high, low = options.threshold_high, options.threshold_low
    if high is None and low is None:
        wanted = np.ones(len(value), dtype=bool)
    else:
        wanted = np.zeros(len(value), dtype=bool)
        if high is not None:
            wanted |= value > high
        if low is not None:
            wanted |= value < low
    result: npt.NDArray[np.bool_] = wanted & ~failed
    return result


def explanation_columns(
    description: ModelDescription,
    options: ScoringOptions,
    inputs: pa.RecordBatch,
    explanations: Explanations | None,
    failed: npt.NDArray[np.bool_],
) -> dict[str, pa.Array]:
    """The explanation columns of one chunk, in output order (see the module docstring)."""
    rows = len(failed)
    names = description.feature_names
    texts = _actual_values(inputs, names, rows)
    count = explained_class_count(description, options)
    if count == 0:
        contributions = (
            np.full((rows, len(names)), np.nan)
            if explanations is None
            else explanations.contributions
        )
        return _ranked(
            contributions,
            failed,
            texts=texts,
            names=names,
            count=options.max_explanations,
            rank=None,
        )
    if explanations is None or explanations.classes is None:
        blocks = np.full((rows, count, len(names)), np.nan)
        classes = np.zeros((rows, count), dtype=np.intp)
    else:
        blocks, classes = explanations.contributions, explanations.classes
    labels = np.asarray(description.class_labels, dtype=object)
    columns: dict[str, pa.Array] = {}
    for block in range(count):
        contributions = blocks[:, block, :]
        empty = np.isnan(contributions).any(axis=1) | failed
        columns[class_column(block + 1)] = pa.array(
            labels[classes[:, block]] if rows else [], mask=empty, type=pa.string()
        )
        columns.update(
            _ranked(
                contributions,
                failed,
                texts=texts,
                names=names,
                count=options.max_explanations,
                rank=block + 1,
            )
        )
    return columns


def _actual_values(inputs: pa.RecordBatch, names: list[str], rows: int) -> npt.NDArray[Any]:
    """``(rows, n_features)`` of the feature values as text, for ``ACTUAL_VALUE``."""
    if not rows:
        return np.empty((0, len(names)), dtype=object)
    return np.column_stack(
        [
            np.asarray(
                pc.cast(inputs.column(name), pa.string()).to_numpy(zero_copy_only=False),
                dtype=object,
            )
            for name in names
        ]
    )


def _ranked(
    contributions: FloatArray,
    failed: npt.NDArray[np.bool_],
    *,
    texts: npt.NDArray[Any],
    names: list[str],
    count: int,
    rank: int | None,
) -> dict[str, pa.Array]:
    """The ``count`` strongest features of each row, as explanation columns of class ``rank``
    (None: the one-class layout's ``EXPLANATION_<i>_*``)."""
    column: Callable[[int, str], str] = (
        explanation_column
        if rank is None
        else lambda index, part: class_explanation_column(rank, index, part)
    )
    rows = len(failed)
    explained = ~np.isnan(contributions).any(axis=1) & ~failed
    magnitude = np.where(np.isnan(contributions), -1.0, np.abs(contributions))
    order = np.argsort(-magnitude, axis=1, kind="stable")[:, :count]
    row_max = np.nanmax(np.where(explained[:, None], np.abs(contributions), 0.0), axis=1)
    feature_names = np.asarray(names, dtype=object)
    columns: dict[str, pa.Array] = {}
    index = np.arange(rows)
    empty = ~explained
    for slot in range(min(count, len(names))):
        chosen = order[:, slot]
        strength = contributions[index, chosen]
        qualitative = [
            None if empty[r] else qualitative_strength(float(strength[r]), float(row_max[r]))
            for r in range(rows)
        ]
        columns[column(slot + 1, "FEATURE_NAME")] = pa.array(
            feature_names[chosen], mask=empty, type=pa.string()
        )
        columns[column(slot + 1, "STRENGTH")] = pa.array(strength, mask=empty, type=pa.float64())
        columns[column(slot + 1, "ACTUAL_VALUE")] = pa.array(
            texts[index, chosen] if rows else [], mask=empty, type=pa.string()
        )
        columns[column(slot + 1, "QUALITATIVE_STRENGTH")] = pa.array(qualitative, type=pa.string())
    return columns
