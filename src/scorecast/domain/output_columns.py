"""DataRobot's prediction output columns (wire reference §11), named and filled, without I/O.

Column order: passthrough columns (in input order for ``passthroughColumnsSet: "all"``, else
as listed), then the probability columns ``<target>_<class>_PREDICTION`` (classes in the
model's order), ``<target>_PREDICTION``, ``THRESHOLD`` and ``POSITIVE_CLASS`` (binary),
``IS_OUTLIER_PREDICTION`` (regression with ``predictionWarningEnabled`` and a known range),
``EXPLANATION_<i>_FEATURE_NAME/_STRENGTH/_ACTUAL_VALUE/_QUALITATIVE_STRENGTH`` for i in
1..maxExplanations, and ``prediction_status`` last. ``columnNamesRemapping`` renames any of
them afterwards; a null new name drops the column.

Binary label rule: the positive class when its probability is strictly greater than the
threshold (``predictionThreshold`` or the deployment's), else the other class — the same
tie rule as scikit-learn's ``predict`` at 0.5.

Explanations: the features with the largest absolute contribution, strongest first.
Qualitative strength compares a contribution with the largest absolute contribution of any
feature in the same row: above 50 % → ``+++``/``---``, above 20 % → ``++``/``--``, otherwise
``+``/``-`` (sign of the contribution). Rows outside the explanation thresholds
(``thresholdHigh``/``thresholdLow``, compared with the positive-class probability, the
regression value, or the predicted class's probability) and failed rows get empty
explanation columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from scorecast.domain.scoring_options import ScoringOptions
    from scorecast.predictors.base import ModelDescription

PREDICTION_STATUS = "prediction_status"
STATUS_OK = "OK"
THRESHOLD = "THRESHOLD"
POSITIVE_CLASS = "POSITIVE_CLASS"
IS_OUTLIER_PREDICTION = "IS_OUTLIER_PREDICTION"
EXPLANATION_PARTS = ("FEATURE_NAME", "STRENGTH", "ACTUAL_VALUE", "QUALITATIVE_STRENGTH")
#: cut-offs of the qualitative strength, as a fraction of the row's largest |contribution|
QUALITATIVE_CUTOFFS = (0.5, 0.2)


def probability_column(target: str, label: str) -> str:
    return f"{target}_{label}_PREDICTION"


def prediction_column(target: str) -> str:
    return f"{target}_PREDICTION"


def explanation_column(index: int, part: str) -> str:
    """``EXPLANATION_<index>_<part>``; ``index`` counts from 1."""
    return f"EXPLANATION_{index}_{part}"


def qualitative_strength(strength: float, row_max_abs: float) -> str:
    """DataRobot's ``+++``..``---`` scale for one contribution (see the module docstring)."""
    if row_max_abs <= 0 or strength == 0 or np.isnan(strength):
        return "+" if strength >= 0 else "-"
    ratio = abs(strength) / row_max_abs
    marks = 3 if ratio > QUALITATIVE_CUTOFFS[0] else 2 if ratio > QUALITATIVE_CUTOFFS[1] else 1
    return ("+" if strength > 0 else "-") * marks


def probability_labels(description: ModelDescription, options: ScoringOptions) -> list[str]:
    """The classes whose probability columns are written."""
    if description.target_type == "regression" or not options.include_probabilities:
        return []
    wanted = options.include_probabilities_classes
    return [c for c in description.class_labels if not wanted or c in wanted]


def passthrough_names(options: ScoringOptions, input_columns: list[str]) -> list[str]:
    from scorecast.formats import ROW_ERROR_COLUMN

    if options.passthrough_all:
        return [c for c in input_columns if c != ROW_ERROR_COLUMN]
    return list(options.passthrough_columns)


def remapped(names: list[str], remapping: dict[str, str | None]) -> list[tuple[str, str]]:
    """(column, output name) pairs after ``columnNamesRemapping``; null drops the column."""
    pairs: list[tuple[str, str]] = []
    for name in names:
        new = remapping.get(name, name)
        if new is not None:
            pairs.append((name, new))
    return pairs


@dataclass(frozen=True)
class Explanations:
    """Per-row contributions of every feature (``(n, n_features)``; NaN rows = not explained)."""

    contributions: npt.NDArray[np.float64]


def assemble(
    description: ModelDescription,
    options: ScoringOptions,
    inputs: pa.RecordBatch,
    predictions: npt.NDArray[np.float64],
    *,
    status: list[str | None],
    explanations: Explanations | None,
) -> pa.RecordBatch:
    """The output batch of one chunk.

    ``predictions`` has one row per input row (values of failed rows are ignored), shaped as
    ``Predictor.predict`` returns them; ``status`` is None for a scored row and the error text
    for a failed one.
    """
    failed = np.array([s is not None for s in status], dtype=bool)
    target = description.target
    columns: dict[str, pa.Array] = {}
    for name in passthrough_names(options, inputs.schema.names):
        columns[name] = inputs.column(name)

    if description.target_type == "regression":
        values = predictions.reshape(-1)
        columns[prediction_column(target)] = pa.array(values, mask=failed, type=pa.float64())
        range_ = description.prediction_range
        if options.prediction_warning_enabled and range_ is not None:
            outlier = (values < range_[0]) | (values > range_[1])
            columns[IS_OUTLIER_PREDICTION] = pa.array(outlier, mask=failed, type=pa.bool_())
    else:
        labels = description.class_labels
        for label in probability_labels(description, options):
            probabilities = predictions[:, labels.index(label)]
            columns[probability_column(target, label)] = pa.array(
                probabilities, mask=failed, type=pa.float64()
            )
        if description.target_type == "binary":
            positive = str(description.positive_class)
            negative = next(label for label in labels if label != positive)
            threshold = _threshold(description, options)
            positive_probability = predictions[:, labels.index(positive)]
            chosen = np.where(positive_probability > threshold, positive, negative)
            columns[prediction_column(target)] = pa.array(chosen, mask=failed, type=pa.string())
            columns[THRESHOLD] = pa.array(
                np.full(len(failed), threshold), mask=failed, type=pa.float64()
            )
            columns[POSITIVE_CLASS] = pa.array(
                np.full(len(failed), positive, dtype=object), mask=failed, type=pa.string()
            )
        else:
            chosen = np.asarray(labels, dtype=object)[np.argmax(predictions, axis=1)]
            columns[prediction_column(target)] = pa.array(chosen, mask=failed, type=pa.string())

    if options.max_explanations > 0:
        columns.update(_explanation_columns(description, options, inputs, explanations, failed))
    if options.include_prediction_status:
        columns[PREDICTION_STATUS] = pa.array(
            [STATUS_OK if s is None else s for s in status], type=pa.string()
        )
    pairs = remapped(list(columns), dict(options.column_names_remapping))
    return pa.RecordBatch.from_arrays(
        [columns[name] for name, _ in pairs], names=[new for _, new in pairs]
    )


def _threshold(description: ModelDescription, options: ScoringOptions) -> float:
    if options.prediction_threshold is not None:
        return options.prediction_threshold
    return description.prediction_threshold


def explained_rows(
    description: ModelDescription,
    options: ScoringOptions,
    predictions: npt.NDArray[np.float64],
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


def _explanation_columns(
    description: ModelDescription,
    options: ScoringOptions,
    inputs: pa.RecordBatch,
    explanations: Explanations | None,
    failed: npt.NDArray[np.bool_],
) -> dict[str, pa.Array]:
    rows = len(failed)
    names = description.feature_names
    count = options.max_explanations
    if explanations is None:
        contributions = np.full((rows, len(names)), np.nan)
    else:
        contributions = explanations.contributions
    explained = ~np.isnan(contributions).any(axis=1) & ~failed
    magnitude = np.where(np.isnan(contributions), -1.0, np.abs(contributions))
    order = np.argsort(-magnitude, axis=1, kind="stable")[:, :count]
    row_max = np.nanmax(np.where(explained[:, None], np.abs(contributions), 0.0), axis=1)
    texts = (
        np.column_stack(
            [
                np.asarray(
                    pc.cast(inputs.column(name), pa.string()).to_numpy(zero_copy_only=False),
                    dtype=object,
                )
                for name in names
            ]
        )
        if rows
        else np.empty((0, len(names)), dtype=object)
    )
    feature_names = np.asarray(names, dtype=object)
    columns: dict[str, pa.Array] = {}
    index = np.arange(rows)
    for slot in range(min(count, len(names))):
        chosen = order[:, slot]
        strength = contributions[index, chosen]
        empty = ~explained
        qualitative = [
            None if empty[r] else qualitative_strength(float(strength[r]), float(row_max[r]))
            for r in range(rows)
        ]
        columns[explanation_column(slot + 1, "FEATURE_NAME")] = pa.array(
            feature_names[chosen], mask=empty, type=pa.string()
        )
        columns[explanation_column(slot + 1, "STRENGTH")] = pa.array(
            strength, mask=empty, type=pa.float64()
        )
        columns[explanation_column(slot + 1, "ACTUAL_VALUE")] = pa.array(
            texts[index, chosen] if rows else [], mask=empty, type=pa.string()
        )
        columns[explanation_column(slot + 1, "QUALITATIVE_STRENGTH")] = pa.array(
            qualitative, type=pa.string()
        )
    return columns
