"""A ``JobSpec`` for engine tests that think in ``ScoringOptions`` (the engine takes the spec)."""

from __future__ import annotations

from scorecast.domain.adapter_settings import LocalFileIntake
from scorecast.domain.csv_settings import CsvSettings
from scorecast.domain.job_spec import ChunkSize, JobSpec
from scorecast.domain.scoring_options import ScoringOptions


def spec_for(
    options: ScoringOptions | None = None,
    *,
    csv: CsvSettings | None = None,
    num_concurrent: int = 2,
    chunk_size: ChunkSize = "auto",
) -> JobSpec:
    """The spec whose scoring options are ``options`` (checked: ``ScoringOptions.of`` gives
    them back), with these CSV settings, ``numConcurrent`` and ``chunkSize``."""
    o = options or ScoringOptions()
    spec = JobSpec(
        deployment_id="test",
        intake=LocalFileIntake(),
        csv=csv or CsvSettings(),
        num_concurrent=num_concurrent,
        chunk_size=chunk_size,
        passthrough_columns=o.passthrough_columns,
        passthrough_columns_set="all" if o.passthrough_all else None,
        include_probabilities=o.include_probabilities,
        include_probabilities_classes=o.include_probabilities_classes,
        prediction_threshold=o.prediction_threshold,
        include_prediction_status=o.include_prediction_status,
        column_names_remapping=tuple(o.column_names_remapping.items()),
        prediction_warning_enabled=o.prediction_warning_enabled,
        max_explanations=o.max_explanations,
        explanation_num_top_classes=o.explanation_num_top_classes,
        explanation_class_names=o.explanation_class_names or None,
        threshold_high=o.threshold_high,
        threshold_low=o.threshold_low,
        abort_on_error=o.abort_on_error,
    )
    assert ScoringOptions.of(spec) == o
    return spec
