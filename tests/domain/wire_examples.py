"""Request bodies captured on the wire from the official datarobot client (reference §8)."""

from __future__ import annotations

from typing import Any

#: ``score_to_file(..., passthrough_columns_set="all", include_prediction_status=True,
#: abort_on_error=False, skip_drift_tracking=True, include_probabilities=False,
#: prediction_threshold=0.3, column_names_remapping={"a": "A", "b": None},
#: csv_settings={"delimiter": "tab"}, chunk_size="auto", num_concurrent=2, max_explanations=3,
#: threshold_high=0.8, threshold_low=0.2)``
SCORE_TO_FILE_BODY: dict[str, Any] = {
    "deploymentId": "dep1",
    "numConcurrent": 2,
    "chunkSize": "auto",
    "maxExplanations": 3,
    "thresholdHigh": 0.8,
    "thresholdLow": 0.2,
    "predictionThreshold": 0.3,
    "includePredictionStatus": True,
    "skipDriftTracking": True,
    "abortOnError": False,
    "includeProbabilities": False,
    "passthroughColumnsSet": "all",
    "columnNamesRemapping": {"a": "A", "b": None},
    "intakeSettings": {"type": "localFile"},
    "outputSettings": {"type": "localFile"},
    "csvSettings": {"delimiter": "tab"},
}
