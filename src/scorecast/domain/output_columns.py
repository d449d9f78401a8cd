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

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from scorecast.domain.explanation_columns import (
    Explanations,
    explanation_columns,
    explanation_names,
)
from scorecast.errors import JobFailure

if TYPE_CHECKING:
    from scorecast.domain.model_description import ModelDescription
    from scorecast.domain.scoring_options import ScoringOptions

PREDICTION_STATUS = "prediction_status"
STATUS_OK = "OK"
THRESHOLD = "THRESHOLD"
POSITIVE_CLASS = "POSITIVE_CLASS"
IS_OUTLIER_PREDICTION = "IS_OUTLIER_PREDICTION"

#: Name of the string column the CSV decoder adds when some rows of a chunk could not be parsed:
#: null for a good row, the problem for a bad one; never an output column.
ROW_ERROR_COLUMN = "__scorecast_row_error__"


def probability_column(target: str, label: str) -> str:
    return f"{target}_{label}_PREDICTION"


def prediction_column(target: str) -> str:
    return f"{target}_PREDICTION"


def probability_labels(description: ModelDescription, options: ScoringOptions) -> list[str]:
    """The classes whose probability columns are written."""
    if description.target_type == "regression" or not options.include_probabilities:
        return []
    wanted = options.include_probabilities_classes
    return [c for c in description.class_labels if not wanted or c in wanted]


def passthrough_names(options: ScoringOptions, input_columns: list[str]) -> list[str]:
    """The input columns copied to the output, in output order (a column listed twice once)."""
    if options.passthrough_all:
        return [c for c in input_columns if c != ROW_ERROR_COLUMN]
    return list(dict.fromkeys(options.passthrough_columns))


def remapped(names: list[str], remapping: dict[str, str | None]) -> list[tuple[str, str]]:
    """(column, output name) pairs after ``columnNamesRemapping``; null drops the column."""
    pairs: list[tuple[str, str]] = []
    for name in names:
        new = remapping.get(name, name)
        if new is not None:
            pairs.append((name, new))
    return pairs


def model_column_names(description: ModelDescription, options: ScoringOptions) -> list[str]:
    """The names of the columns the scoring writes (all but passthrough), in output order,
    before ``columnNamesRemapping``."""
    target = description.target
    names = [
        probability_column(target, label) for label in probability_labels(description, options)
    ]
    names.append(prediction_column(target))
    if description.target_type == "binary":
        names += [THRESHOLD, POSITIVE_CLASS]
    warned = options.prediction_warning_enabled and description.prediction_range is not None
    if description.target_type == "regression" and warned:
        names.append(IS_OUTLIER_PREDICTION)
    names += explanation_names(description, options)
    if options.include_prediction_status:
        names.append(PREDICTION_STATUS)
    return names


def duplicate_name_problem(
    passthrough: list[str], written: list[str], remapping: Mapping[str, str | None]
) -> tuple[str, str] | None:
    """(job spec key to blame, message) when the output would have two columns of one name:
    ``passthrough`` input columns and ``written`` scoring columns, renamed by ``remapping``."""
    sources: dict[str, list[str]] = {}
    for column, name in remapped(passthrough + written, dict(remapping)):
        sources.setdefault(name, []).append(column)
    for name, columns in sources.items():
        if len(columns) < 2:
            continue
        if len(set(columns)) == len(columns):
            return "columnNamesRemapping", (
                f"columnNamesRemapping gives the output columns {columns} the same name "
                f"{name!r}; map them to different names (or one of them to null to drop it)"
            )
        clash = next(column for column in columns if columns.count(column) > 1)
        if clash in written:
            return "passthroughColumns", (
                f"the input column {clash!r} has the name of a column the scoring writes, so "
                "the output would hold two columns of that name; leave it out of the passthrough "
                "columns (list passthroughColumns without it instead of passthroughColumnsSet "
                "'all') or rename it in the input"
            )
        return "passthroughColumns", (
            f"the input has more than one column named {clash!r}; rename them in the input or "
            "list passthroughColumns without it"
        )
    return None


def output_name_problem(
    description: ModelDescription, options: ScoringOptions, input_columns: list[str] | None
) -> tuple[str, str] | None:
    """``duplicate_name_problem`` of a job's output; ``input_columns`` None: not known yet
    (then the columns of ``passthroughColumnsSet: "all"`` are left out)."""
    unknown = options.passthrough_all and input_columns is None
    problem = duplicate_name_problem(
        [] if unknown else passthrough_names(options, input_columns or []),
        model_column_names(description, options),
        options.column_names_remapping,
    )
    if problem is not None and problem[0] == "passthroughColumns" and options.passthrough_all:
        return "passthroughColumnsSet", problem[1]
    return problem


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
