"""Scoring one chunk: a pure function (model, options, batch) → DataRobot output batch.

It has no I/O and no shared state, so the same function runs in a worker process, a thread, or
later on a Dask cluster. Row-level problems never fail the chunk: a row whose value cannot be
read as its feature's type, or that makes the model raise, is failed alone (the engine counts it
in ``failedRows`` and ``prediction_status`` carries the reason). A chunk that lacks feature
columns, or whose output would hold two columns of one name, fails the job (``JobFailure``
naming the columns).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorecast.domain.explanation_columns import (
    Explanations,
    explained_classes,
    explained_rows,
)
from scorecast.domain.output_columns import assemble, check_output_names, failed_mask
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.errors import JobFailure
from scorecast.formats import ROW_ERROR_COLUMN
from scorecast.formats.csv_decode import missing_text_as_null
from scorecast.predictors.base import FloatArray, ModelDescription, Predictor

_MAX_MESSAGE = 300


@dataclass(frozen=True)
class ScoredChunk:
    """The output rows of one chunk and how many were scored / failed."""

    batch: pa.RecordBatch
    scored_rows: int
    failed_rows: int
    #: the input chunk's size (raw CSV bytes or Arrow bytes) and the seconds it took to score,
    #: measured where it was scored (worker process or thread): a dynamic chunk size uses them
    input_bytes: int = 0
    seconds: float = 0.0


def missing_columns(
    description: ModelDescription, options: ScoringOptions, columns: list[str]
) -> tuple[list[str], list[str]]:
    """(missing feature columns, missing passthrough columns) of an input with ``columns``."""
    present = set(columns)
    features = [name for name in description.feature_names if name not in present]
    passthrough = [name for name in options.passthrough_columns if name not in present]
    return features, passthrough


def check_columns(
    description: ModelDescription,
    options: ScoringOptions,
    columns: list[str],
    *,
    output_names: bool = True,
) -> None:
    """Raise ``JobFailure`` naming the feature or passthrough columns the input lacks, or, with
    ``output_names``, the column name the output would hold twice (``check_output_names``: a
    job checks it once, at its first chunk; each chunk's ``assemble`` refuses it anyway)."""
    repeated = _repeated_used_columns(description, options, columns)
    if repeated:
        raise JobFailure(
            f"the input names the column {', '.join(repr(name) for name in repeated)} more than"
            " once: a feature or passthrough column must be named once in the header",
            {"columns": {"repeated": repeated}},
        )
    features, passthrough = missing_columns(description, options, columns)
    if features:
        raise JobFailure(
            f"the input lacks the model's feature columns: {', '.join(features)}",
            {"columns": {"missing": features}},
        )
    if passthrough:
        raise JobFailure(
            f"the input lacks the passthrough columns: {', '.join(passthrough)}",
            {"passthroughColumns": {"missing": passthrough}},
        )
    if output_names:
        check_output_names(description, options, columns)


def _repeated_used_columns(
    description: ModelDescription, options: ScoringOptions, columns: list[str]
) -> list[str]:
    """The features and listed passthrough columns the header names more than once (the
    reader could not tell which one is meant). With ``passthroughColumnsSet: all`` every column
    is copied: ``check_output_names`` refuses a repeated name then."""
    counts = Counter(columns)
    used = {feature.name for feature in description.features}
    if not options.passthrough_all:
        used.update(options.passthrough_columns)
    return sorted(name for name in used if counts[name] > 1)


def score_chunk(
    predictor: Predictor,
    description: ModelDescription,
    options: ScoringOptions,
    batch: pa.RecordBatch,
    *,
    from_csv: bool = False,
) -> ScoredChunk:
    """Score every row of ``batch``; the output has one row per input row, in order.

    ``from_csv``: ``batch`` was decoded from CSV text, whose missing values a text feature
    still spells (``NA``, ``null``, ...; see ``_feature_batch``)."""
    check_columns(description, options, batch.schema.names, output_names=False)
    rows = batch.num_rows
    status: list[str | None] = [None] * rows
    if ROW_ERROR_COLUMN in batch.schema.names:
        status = list(batch.column(ROW_ERROR_COLUMN).to_pylist())
        batch = batch.drop_columns([ROW_ERROR_COLUMN])
    features = _feature_batch(description, batch, status, from_csv=from_csv)

    width = len(description.class_labels) or None
    predictions: FloatArray = np.full((rows, width) if width else (rows,), np.nan)
    failed = failed_mask(status)
    if not failed.any():  # the usual chunk: scored as it is, without a copy
        good, scorable = np.arange(rows), features
    else:
        good = np.flatnonzero(~failed)
        scorable = features.take(pa.array(good))
    if len(good):
        values, errors = _predict_isolating(predictor, scorable)
        predictions[good] = values
        for position, error in errors.items():
            status[int(good[position])] = error

    explanations = None
    if options.max_explanations > 0:
        explanations = _explain(
            predictor, description, options, features, predictions=predictions, status=status
        )
    output = assemble(
        description, options, batch, predictions, status=status, explanations=explanations
    )
    failures = rows - status.count(None)
    return ScoredChunk(output, rows - failures, failures)


def _feature_batch(
    description: ModelDescription,
    batch: pa.RecordBatch,
    status: list[str | None],
    *,
    from_csv: bool,
) -> pa.RecordBatch:
    """The feature columns, numeric ones as float64; unreadable values fail their rows.

    From CSV, a ``MISSING_TEXT`` value (``NA``, ``null``, ...) of a text column is missing: the
    CSV decoder keeps it as text (a passthrough column is copied exactly) and reads it as null
    only in a numeric column. Other formats have typed nulls: their text is a value (``NA`` may
    be Namibia).
    """
    arrays = []
    for feature in description.features:
        column = batch.column(feature.name)
        if from_csv and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = missing_text_as_null(column)
        if feature.type == "categorical":
            arrays.append(pc.cast(column, pa.string()))
        elif pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            arrays.append(pc.cast(column, pa.float64()))
        else:
            arrays.append(_to_float(feature.name, column, status))
    return pa.RecordBatch.from_arrays(arrays, names=description.feature_names)


def _to_float(name: str, column: pa.Array, status: list[str | None]) -> pa.Array:
    try:
        return pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[float | None] = []
    for index, value in enumerate(column.to_pylist()):
        if value is None or (isinstance(value, str) and not value.strip()):
            values.append(None)
            continue
        try:
            values.append(float(value))
        except (TypeError, ValueError):
            values.append(None)
            if status[index] is None:
                status[index] = f"column {name!r}: {str(value)[:80]!r} is not a number"
    return pa.array(values, type=pa.float64())


def _predict_isolating(
    predictor: Predictor, features: pa.RecordBatch
) -> tuple[FloatArray, dict[int, str]]:
    """Predict all rows; if the model raises, bisect to fail only the rows at fault."""
    try:
        values = predictor.predict(features)
        if len(values) != features.num_rows:
            raise ValueError(
                f"the model returned {len(values)} predictions for {features.num_rows} rows"
            )
        return values, {}
    except Exception as exc:
        if features.num_rows == 1:
            width = len(predictor.class_labels)
            empty: FloatArray = np.full((1, width) if width else (1,), np.nan)
            message = f"the model could not score this row: {type(exc).__name__}: {exc}"
            return empty, {0: message[:_MAX_MESSAGE]}
    half = features.num_rows // 2
    left, left_errors = _predict_isolating(predictor, features.slice(0, half))
    right, right_errors = _predict_isolating(predictor, features.slice(half))
    errors = {**left_errors, **{half + k: v for k, v in right_errors.items()}}
    return np.concatenate([left, right]), errors


def _explain(
    predictor: Predictor,
    description: ModelDescription,
    options: ScoringOptions,
    features: pa.RecordBatch,
    *,
    predictions: FloatArray,
    status: list[str | None],
) -> Explanations:
    failed = np.array([s is not None for s in status], dtype=bool)
    wanted = explained_rows(description, options, np.nan_to_num(predictions), failed)
    rows = np.flatnonzero(wanted)
    classes = explained_classes(description, options, predictions)
    if classes is not None:
        shape = (features.num_rows, classes.shape[1], len(description.features))
        blocks = np.full(shape, np.nan)
        if len(rows):
            blocks[rows] = predictor.explain(features.take(pa.array(rows)), classes[rows])
        return Explanations(blocks, classes)
    contributions = np.full((features.num_rows, len(description.features)), np.nan)
    if len(rows):
        class_index = (
            np.argmax(predictions[rows], axis=1)
            if description.target_type == "multiclass"
            else np.zeros(len(rows), dtype=np.intp)
        )
        contributions[rows] = predictor.explain(features.take(pa.array(rows)), class_index)
    return Explanations(contributions)
