"""The scoring options of a job spec, and their check against the deployment's model.

``ScoringOptions.of(spec)`` picks what the scoring needs out of a parsed ``JobSpec`` (which
checked every value and filled the defaults); it never reads the wire form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scorecast.domain.job_spec import ChunkSize, JobSpec
from scorecast.domain.output_names import output_name_problem
from scorecast.errors import InvalidInput

if TYPE_CHECKING:
    from scorecast.domain.model_description import ModelDescription


@dataclass(frozen=True)
class ScoringOptions:
    """What a job asks of the scoring; the names mirror the job spec's keys."""

    passthrough_columns: tuple[str, ...] = ()
    passthrough_all: bool = False
    include_probabilities: bool = True
    include_probabilities_classes: tuple[str, ...] = ()
    prediction_threshold: float | None = None
    include_prediction_status: bool = False
    column_names_remapping: Mapping[str, str | None] = field(default_factory=dict)
    prediction_warning_enabled: bool = False
    max_explanations: int = 0
    #: multiclass: explain each row for its n most probable classes (``CLASS_k`` columns)
    explanation_num_top_classes: int | None = None
    #: multiclass: explain each row for exactly these classes, in this order
    explanation_class_names: tuple[str, ...] = ()
    threshold_high: float | None = None
    threshold_low: float | None = None
    abort_on_error: bool = True

    @classmethod
    def of(cls, spec: JobSpec) -> ScoringOptions:
        """The scoring options of a parsed job spec (no check: ``JobSpec.from_wire`` did)."""
        return cls(
            passthrough_columns=spec.passthrough_columns,
            passthrough_all=spec.passthrough_columns_set == "all",
            include_probabilities=spec.include_probabilities,
            include_probabilities_classes=spec.include_probabilities_classes,
            prediction_threshold=spec.prediction_threshold,
            include_prediction_status=spec.include_prediction_status,
            column_names_remapping=dict(spec.column_names_remapping),
            prediction_warning_enabled=bool(spec.prediction_warning_enabled),
            max_explanations=spec.max_explanations,
            explanation_num_top_classes=spec.explanation_num_top_classes,
            explanation_class_names=spec.explanation_class_names or (),
            threshold_high=spec.threshold_high,
            threshold_low=spec.threshold_low,
            abort_on_error=spec.abort_on_error,
        )


def check_against_model(
    options: ScoringOptions, description: ModelDescription, header: list[str] | None
) -> None:
    """Refuse options the deployment cannot honour (a 422 at submit), and an output that would
    have two columns of one name (``output_names.output_name_problem``).

    ``header`` is the input's column names when known at submit time; then missing feature
    columns and missing passthrough columns are refused here instead of failing the job.
    """
    labels = description.class_labels
    if options.include_probabilities_classes:
        if description.target_type == "regression":
            raise InvalidInput.at(
                "includeProbabilitiesClasses", "a regression deployment has no class probabilities"
            )
        unknown = [c for c in options.include_probabilities_classes if c not in labels]
        if unknown:
            raise InvalidInput.at(
                "includeProbabilitiesClasses",
                f"unknown classes {unknown}; the deployment's classes are {labels}",
            )
    if options.prediction_threshold is not None and description.target_type != "binary":
        raise InvalidInput.at("predictionThreshold", "only applies to binary classification")
    if options.max_explanations > 0 and not description.can_explain:
        raise InvalidInput.at(
            "maxExplanations",
            description.explain_unavailable_reason or "this deployment cannot explain",
        )
    _check_explained_classes(options, description)
    problem = output_name_problem(description, options, header)
    if problem is not None:
        raise InvalidInput.at(*problem)
    if header is None:
        return
    present = set(header)
    missing = [name for name in description.feature_names if name not in present]
    if missing:
        raise InvalidInput(
            f"the input lacks the model's feature columns: {', '.join(missing)}",
            {"intakeSettings": {"columns": f"missing feature columns {missing}"}},
        )
    missing_passthrough = [c for c in options.passthrough_columns if c not in present]
    if missing_passthrough:
        raise InvalidInput.at(
            "passthroughColumns", f"not columns of the input: {missing_passthrough}"
        )


def _check_explained_classes(options: ScoringOptions, description: ModelDescription) -> None:
    """``explanationNumTopClasses`` / ``explanationClassNames`` suit a multiclass model."""
    key = (
        "explanationNumTopClasses"
        if options.explanation_num_top_classes is not None
        else "explanationClassNames"
        if options.explanation_class_names
        else None
    )
    if key is None:
        return
    labels = description.class_labels
    if description.target_type != "multiclass":
        raise InvalidInput.at(key, "only applies to multiclass classification")
    top = options.explanation_num_top_classes
    if top is not None and top > len(labels):
        raise InvalidInput.at(
            key, f"asks for {top} classes but the deployment has {len(labels)}: {labels}"
        )
    unknown = [c for c in options.explanation_class_names if c not in labels]
    if unknown:
        raise InvalidInput.at(
            key, f"unknown classes {unknown}; the deployment's classes are {labels}"
        )


def target_bytes(chunk_size: ChunkSize) -> int:
    """Bytes of input per chunk: a number as given, the strategies ``AUTO_CHUNK_BYTES``.

    ``"auto"``, ``"fixed"`` and ``"dynamic"`` all use ``AUTO_CHUNK_BYTES``, measured on a
    2-core machine with a one-hot + logistic regression pipeline: a chunk's working memory is
    about 15x its size (decoded columns, DataFrame, encoded matrix), and 4 MiB chunks gave the
    lowest memory (0.6x of 16 MiB) without losing throughput (64 MiB left a worker idle).
    ``"dynamic"`` only starts at this size: the engine then sizes each chunk from the measured
    scoring time of the ones before it (``scorecast.domain.chunk_sizing``).
    """
    if isinstance(chunk_size, int):
        return max(chunk_size, 1)
    return AUTO_CHUNK_BYTES


AUTO_CHUNK_BYTES = 4 << 20
