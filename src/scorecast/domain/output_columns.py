"""DataRobot's prediction output columns (wire reference §11), named and filled, without I/O.

Column order: passthrough columns (in input order for ``passthroughColumnsSet: "all"``, else
as listed), then the probability columns ``<target>_<class>_PREDICTION`` (classes in the
model's order), ``<target>_PREDICTION``, ``THRESHOLD`` and ``POSITIVE_CLASS`` (binary),
``IS_OUTLIER_PREDICTION`` (regression with ``predictionWarningEnabled`` and a known range),
the explanation columns when ``maxExplanations`` > 0 (``EXPLANATION_<i>_*``, or ``CLASS_<k>``
and ``CLASS_<k>_EXPLANATION_<i>_*`` for several classes per row: see
``scorecast.domain.explanation_columns``), and ``prediction_status`` last.
``columnNamesRemapping`` renames any of them afterwards; a null new name drops the column.

Output column names are unique: an input column passed through under the name of a column the
scoring writes (``THRESHOLD``, ``prediction_status``, ...), or a remapping that gives two
columns one name, fails the job before anything is written (``check_output_names``) instead of
one column silently replacing the other.

Binary label rule: the positive class when its probability is strictly greater than the
threshold (``predictionThreshold`` or the deployment's), else the other class — the same
tie rule as scikit-learn's ``predict`` at 0.5.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from scorecast.domain.explanation_columns import Explanations, explanation_columns
from scorecast.domain.output_names import (
    IS_OUTLIER_PREDICTION,
    POSITIVE_CLASS,
    PREDICTION_STATUS,
    STATUS_OK,
    THRESHOLD,
    duplicate_name_problem,
    output_name_problem,
    passthrough_names,
    prediction_column,
    probability_column,
    probability_labels,
)
from scorecast.errors import JobFailure

if TYPE_CHECKING:
    from scorecast.domain.model_description import ModelDescription
    from scorecast.domain.scoring_options import ScoringOptions


def check_output_names(
    description: ModelDescription, options: ScoringOptions, input_columns: list[str]
) -> None:
    """Raise ``JobFailure`` when the output of an input with ``input_columns`` would have two
    columns of the same name (see the module docstring)."""
    problem = output_name_problem(description, options, input_columns)
    if problem is not None:
        key, message = problem
        raise JobFailure(message, {key: message})


def failed_mask(status: list[str | None]) -> npt.NDArray[np.bool_]:
    """True for each row with an error; a chunk without one (the usual case) costs no loop."""
    if status.count(None) == len(status):
        return np.zeros(len(status), dtype=bool)
    return np.array([s is not None for s in status], dtype=bool)


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
    failed = failed_mask(status)
    target = description.target
    passthrough = passthrough_names(options, inputs.schema.names)
    columns: dict[str, pa.Array] = {}

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
            # string columns are built by Arrow from the labels, not from Python objects
            chosen = pa.array(positive_probability > threshold, mask=failed)
            columns[prediction_column(target)] = pc.if_else(chosen, positive, negative)
            columns[THRESHOLD] = pa.array(
                np.full(len(failed), threshold), mask=failed, type=pa.float64()
            )
            columns[POSITIVE_CLASS] = pc.if_else(
                pa.array(failed), pa.scalar(None, pa.string()), positive
            )
        else:
            best = pa.array(np.argmax(predictions, axis=1), mask=failed)
            columns[prediction_column(target)] = pa.array(labels, pa.string()).take(best)

    if options.max_explanations > 0:
        columns.update(explanation_columns(description, options, inputs, explanations, failed))
    if options.include_prediction_status:
        columns[PREDICTION_STATUS] = pa.array(
            [STATUS_OK if s is None else s for s in status], type=pa.string()
        )
    remapping = options.column_names_remapping
    problem = duplicate_name_problem(passthrough, list(columns), remapping)
    if problem is not None:  # never one column silently in place of another
        raise JobFailure(problem[1], {problem[0]: problem[1]})
    written = [(name, inputs.column(name)) for name in passthrough] + list(columns.items())
    kept = [(remapping.get(name, name), array) for name, array in written]
    return pa.RecordBatch.from_arrays(
        [array for new, array in kept if new is not None],
        names=[new for new, _ in kept if new is not None],
    )


def _threshold(description: ModelDescription, options: ScoringOptions) -> float:
    if options.prediction_threshold is not None:
        return options.prediction_threshold
    return description.prediction_threshold
