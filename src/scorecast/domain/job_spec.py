"""The batch prediction job spec: one immutable, typed value, parsed once from DataRobot's wire.

``JobSpec.from_wire(raw)`` is the one parser every job spec passes (``POST batchPredictions/``,
job definitions, ``fromExisting``, and the worker reading a stored job): it checks each key's
type and range, fills DataRobot's defaults (``chunkSize "auto"``, ``abortOnError true``,
``includeProbabilities true``, the ``csvSettings`` defaults, ``numConcurrent``
``DEFAULT_NUM_CONCURRENT``, ...) and types ``intakeSettings``/``outputSettings`` per adapter
(``scorecast.domain.adapter_settings``). Problems are collected and raised together as one
``InvalidInput`` whose ``errors`` name every offending field
(``{"csvSettings": {"delimiter": "..."}}``). ``to_wire()`` is the form that is stored and
echoed back as ``jobSpec``; ``JobSpec.from_wire(spec.to_wire()) == spec``.

What is normalised on the way in (so wire → spec → wire gives the normal form, and the normal
form round-trips exactly): defaults filled in (the keys listed in ``JobSpec.to_wire``),
``csvSettings.delimiter "tab"`` → ``"\\t"``, thresholds to floats, ``columnNamesRemapping`` in
its list form → the object form, ``predictionInstance`` without its secrets, adapter keys whose
value is null left out, ``timeseriesSettings: {}`` left out.

What this module does not judge: what needs the server's configuration (URL and path safety,
file roots: the connector validators), whether ids exist (the service does), and whether the
deployment's model supports the scoring options (``scorecast.domain.scoring_options`` does).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from scorecast.domain import job_spec_fields as f
from scorecast.domain.adapter_settings import (
    AdapterProblems,
    IntakeSettings,
    LocalFileOutput,
    OutputSettings,
    intake_settings_from_wire,
    output_settings_from_wire,
    same_location,
)
from scorecast.domain.csv_settings import CsvSettings
from scorecast.domain.job_spec_fields import (
    DEFAULT_NUM_CONCURRENT,
    MAX_CHUNK_SIZE,
    MAX_EXPLANATIONS,
    MAX_NUM_CONCURRENT,
    ChunkSize,
)
from scorecast.errors import InvalidInput, UnsupportedFeature

__all__ = [
    "DEFAULT_NUM_CONCURRENT",
    "MAX_CHUNK_SIZE",
    "MAX_EXPLANATIONS",
    "MAX_NUM_CONCURRENT",
    "ChunkSize",
    "JobSpec",
    "merge_job_spec",
]

#: Keys this server accepts but does not interpret; they are stored and echoed unchanged.
OPAQUE_KEYS: Final = (
    "modelPackageId",
    "pinnedModelId",
    "monitoringBatchPrefix",
    "secondaryDatasetsConfigId",
    "explanationsMode",
)
#: The most levels of objects and lists an ``OPAQUE_KEYS`` value may nest (the API refuses
#: deeper bodies first; this keeps other callers from exhausting the recursion of a copy).
MAX_OPAQUE_DEPTH: Final = 32
_UNSUPPORTED_KEYS: Final = {
    "modelId": "scoring a leaderboard model is not supported; register it and use deploymentId",
}


@dataclass(frozen=True)
class JobSpec:
    """A valid job spec; each field is the camelCase key of the same name, typed."""

    deployment_id: str
    intake: IntakeSettings
    output: OutputSettings = field(default_factory=LocalFileOutput)
    csv: CsvSettings = field(default_factory=CsvSettings)
    num_concurrent: int = DEFAULT_NUM_CONCURRENT
    chunk_size: ChunkSize = "auto"
    abort_on_error: bool = True
    include_probabilities: bool = True
    include_probabilities_classes: tuple[str, ...] = ()
    include_prediction_status: bool = False
    skip_drift_tracking: bool = False
    disable_row_level_error_handling: bool = False
    #: None: as the deployment says (DataRobot's null)
    prediction_warning_enabled: bool | None = None
    passthrough_columns: tuple[str, ...] = ()
    passthrough_columns_set: Literal["all"] | None = None
    max_explanations: int = 0
    max_ngram_explanations: int | Literal["all"] | None = None
    explanation_algorithm: Literal["shap", "xemp"] | None = None
    explanation_num_top_classes: int | None = None
    explanation_class_names: tuple[str, ...] | None = None
    threshold_high: float | None = None
    threshold_low: float | None = None
    prediction_threshold: float | None = None
    #: (input name, output name or None to drop the column), in the order given
    column_names_remapping: tuple[tuple[str, str | None], ...] = ()
    prediction_instance: Mapping[str, Any] | None = None
    batch_job_type: Literal["prediction"] | None = None
    #: ``OPAQUE_KEYS`` that were sent, as sent
    opaque: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, raw: object) -> JobSpec:
        """Parse a camelCase job spec (see the module docstring).

        Raises ``InvalidInput`` naming every bad field, or ``UnsupportedFeature`` for valid
        DataRobot input this server does not implement (``modelId`` leaderboard scoring,
        monitoring jobs, time series).
        """
        if not isinstance(raw, Mapping):
            raise InvalidInput("the job spec must be a JSON object", {"body": "must be an object"})
        errors: dict[str, Any] = {}
        unsupported: dict[str, Any] = {}
        for key in raw:
            known = key in _PARSERS or key in OPAQUE_KEYS or key in _UNSUPPORTED_KEYS
            if not known and key not in ("intakeSettings", "outputSettings", "batchJobType"):
                errors[str(key)] = "unknown field"
        for key, problem in _UNSUPPORTED_KEYS.items():
            if raw.get(key) is not None:
                unsupported[key] = problem
        batch_job_type = raw.get("batchJobType")
        if batch_job_type == "monitoring":
            unsupported["batchJobType"] = "monitoring jobs are not supported by this server"
        elif batch_job_type not in (None, "prediction"):
            errors["batchJobType"] = "must be 'prediction' or 'monitoring'"

        values: dict[str, Any] = {}
        for key, (name, parse) in _PARSERS.items():
            try:
                values[name] = parse(raw.get(key))
            except f.FieldError as exc:
                errors[key] = exc.problem
            except _Unsupported as exc:
                unsupported[key] = exc.problem
        values["intake"] = _adapter(raw, "intakeSettings", intake_settings_from_wire, errors)
        output = raw.get("outputSettings")
        values["output"] = (
            LocalFileOutput()
            if output is None
            else _adapter(raw, "outputSettings", output_settings_from_wire, errors)
        )
        for key in OPAQUE_KEYS:
            if _nesting(raw.get(key)) > MAX_OPAQUE_DEPTH:
                errors[key] = f"is nested more than {MAX_OPAQUE_DEPTH} levels deep"
        if raw.get("deploymentId") is None and raw.get("modelId") is None:
            errors.setdefault("deploymentId", "is required")
        _cross_field_problems(values, errors)
        if errors:
            raise InvalidInput(_summary("invalid job spec", errors), errors)
        if unsupported:
            message = _summary("not supported by this server", unsupported)
            raise UnsupportedFeature(message, unsupported)
        values.pop("timeseries", None)
        return cls(
            **values,
            batch_job_type="prediction" if batch_job_type == "prediction" else None,
            opaque={key: copy.deepcopy(raw[key]) for key in OPAQUE_KEYS if key in raw},
        )

    def to_wire(self) -> dict[str, Any]:
        """The stored and echoed form: every defaulted key present, optional ones when set."""
        wire: dict[str, Any] = {
            "deploymentId": self.deployment_id,
            "numConcurrent": self.num_concurrent,
            "chunkSize": self.chunk_size,
            "intakeSettings": self.intake.to_wire(),
            "outputSettings": self.output.to_wire(),
            "csvSettings": {
                "delimiter": self.csv.delimiter,
                "quotechar": self.csv.quotechar,
                "encoding": self.csv.encoding,
            },
            "abortOnError": self.abort_on_error,
            "includeProbabilities": self.include_probabilities,
            "includeProbabilitiesClasses": list(self.include_probabilities_classes),
            "includePredictionStatus": self.include_prediction_status,
            "skipDriftTracking": self.skip_drift_tracking,
            "disableRowLevelErrorHandling": self.disable_row_level_error_handling,
            "predictionWarningEnabled": self.prediction_warning_enabled,
            "passthroughColumns": list(self.passthrough_columns),
            "passthroughColumnsSet": self.passthrough_columns_set,
            "maxExplanations": self.max_explanations,
            "thresholdHigh": self.threshold_high,
            "thresholdLow": self.threshold_low,
            "predictionThreshold": self.prediction_threshold,
            "columnNamesRemapping": dict(self.column_names_remapping),
        }
        optional = {
            "maxNgramExplanations": self.max_ngram_explanations,
            "explanationAlgorithm": self.explanation_algorithm,
            "explanationNumTopClasses": self.explanation_num_top_classes,
            "explanationClassNames": (
                list(self.explanation_class_names) if self.explanation_class_names else None
            ),
            "predictionInstance": (
                dict(self.prediction_instance) if self.prediction_instance is not None else None
            ),
            "batchJobType": self.batch_job_type,
        }
        wire.update({key: value for key, value in optional.items() if value is not None})
        wire.update(copy.deepcopy(dict(self.opaque)))
        return wire


class _Unsupported(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _timeseries(value: object) -> None:
    """Not implemented here: refused at submit (a 422 saying so), never silently ignored."""
    if value is None or value == {}:
        return None
    if not isinstance(value, Mapping):
        raise f.FieldError("must be an object")
    raise _Unsupported("time series scoring is not supported by this server")


def _nesting(value: object) -> int:
    """The levels of objects and lists in ``value`` (0 for a scalar), counted without recursion
    and only up to one past ``MAX_OPAQUE_DEPTH``."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending and deepest <= MAX_OPAQUE_DEPTH:
        item, level = pending.pop()
        if isinstance(item, Mapping):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = list(item)
        else:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children)
    return deepest


def _required_deployment_id(value: object) -> str | None:
    return f.parse_deployment_id(value)


#: wire key → (JobSpec field, parser of the value as sent, None when absent)
_PARSERS: Final[dict[str, tuple[str, Callable[[object], Any]]]] = {
    "deploymentId": ("deployment_id", _required_deployment_id),
    "numConcurrent": ("num_concurrent", f.parse_num_concurrent),
    "chunkSize": ("chunk_size", f.parse_chunk_size),
    "csvSettings": ("csv", f.parse_csv_settings),
    "abortOnError": ("abort_on_error", lambda value: f.parse_bool(value, True)),
    "includeProbabilities": ("include_probabilities", lambda value: f.parse_bool(value, True)),
    "includeProbabilitiesClasses": ("include_probabilities_classes", f.parse_probability_classes),
    "includePredictionStatus": (
        "include_prediction_status",
        lambda value: f.parse_bool(value, False),
    ),
    "skipDriftTracking": ("skip_drift_tracking", lambda value: f.parse_bool(value, False)),
    "disableRowLevelErrorHandling": (
        "disable_row_level_error_handling",
        lambda value: f.parse_bool(value, False),
    ),
    "predictionWarningEnabled": ("prediction_warning_enabled", f.parse_optional_bool),
    "passthroughColumns": ("passthrough_columns", f.parse_passthrough_columns),
    "passthroughColumnsSet": ("passthrough_columns_set", f.parse_passthrough_columns_set),
    "maxExplanations": ("max_explanations", f.parse_max_explanations),
    "maxNgramExplanations": ("max_ngram_explanations", f.parse_max_ngram_explanations),
    "explanationAlgorithm": ("explanation_algorithm", f.parse_explanation_algorithm),
    "explanationNumTopClasses": (
        "explanation_num_top_classes",
        f.parse_explanation_num_top_classes,
    ),
    "explanationClassNames": ("explanation_class_names", f.parse_explanation_class_names),
    "thresholdHigh": ("threshold_high", f.parse_number),
    "thresholdLow": ("threshold_low", f.parse_number),
    "predictionThreshold": ("prediction_threshold", lambda value: f.parse_number(value, 0.0, 1.0)),
    "columnNamesRemapping": ("column_names_remapping", f.parse_column_names_remapping),
    "timeseriesSettings": ("timeseries", _timeseries),
    "predictionInstance": ("prediction_instance", f.parse_prediction_instance),
}


def _adapter(
    raw: Mapping[str, Any], key: str, parse: Callable[[object], Any], errors: dict[str, Any]
) -> Any:
    value = raw.get(key)
    if value is None:
        errors[key] = "is required"
        return None
    try:
        return parse(value)
    except AdapterProblems as exc:
        errors[key] = exc.problems
        return None


def _cross_field_problems(values: Mapping[str, Any], errors: dict[str, Any]) -> None:
    """Problems of keys that are valid alone but not together (checked when both parsed)."""
    if values.get("passthrough_columns") and values.get("passthrough_columns_set") is not None:
        errors["passthroughColumnsSet"] = "cannot be combined with passthroughColumns"
    top, names = values.get("explanation_num_top_classes"), values.get("explanation_class_names")
    if names and top is not None:
        errors["explanationClassNames"] = "cannot be combined with explanationNumTopClasses"
    elif (top is not None or names) and values.get("max_explanations") == 0:
        key = "explanationNumTopClasses" if top is not None else "explanationClassNames"
        errors.setdefault(key, "needs maxExplanations of at least 1")
    intake, output = values.get("intake"), values.get("output")
    if intake is not None and output is not None and same_location(intake, output):
        errors["outputSettings"] = {
            "url": "is where the intake reads its input (intakeSettings.url): the predictions "
            "would replace the input; write them to another location"
        }
    low, high = values.get("threshold_low"), values.get("threshold_high")
    if low is not None and high is not None and low > high:
        errors["thresholdLow"] = f"{low} is greater than thresholdHigh {high}"


def merge_job_spec(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A top-level partial merge: keys in ``changes`` replace those of ``base`` whole.

    ``intakeSettings``/``outputSettings`` (and every other object) are replaced, not merged
    key by key, so stale adapter keys never survive a change of ``type``. ``deploymentId`` and
    ``modelId`` replace each other. The result still needs ``JobSpec.from_wire``.
    """
    merged = {key: copy.deepcopy(value) for key, value in base.items()}
    if "modelId" in changes:
        merged.pop("deploymentId", None)
    if "deploymentId" in changes:
        merged.pop("modelId", None)
    if "passthroughColumnsSet" in changes:
        merged.pop("passthroughColumns", None)
    if "passthroughColumns" in changes:
        merged.pop("passthroughColumnsSet", None)
    for key, value in changes.items():
        merged[key] = copy.deepcopy(value)
    return merged


def _summary(title: str, errors: Mapping[str, Any]) -> str:
    parts = [f"{path}: {problem}" if problem else path for path, problem in _flatten(errors)]
    return f"{title}: " + "; ".join(parts)


def _flatten(errors: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    flat: list[tuple[str, str]] = []
    for key, value in errors.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.extend(_flatten(value, path + "."))
        else:
            flat.append((path, str(value)))
    return flat
