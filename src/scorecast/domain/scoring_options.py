"""The scoring options of a job spec, parsed once, and checked against the deployment's model.

``ScoringOptions.from_job_spec`` reads DataRobot's camelCase keys with the server defaults of
the wire reference (§8): ``includeProbabilities`` true, ``abortOnError`` true,
``maxExplanations`` 0, ``chunkSize`` ``"auto"``, ``predictionThreshold`` = the deployment's
threshold. It accepts a raw spec as well as one ``normalize_job_spec`` already filled in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scorecast.domain.csv_settings import CsvSettings
from scorecast.domain.job_spec import MAX_NUM_CONCURRENT
from scorecast.errors import InvalidInput, UnsupportedFeature

if TYPE_CHECKING:
    from scorecast.domain.model_description import ModelDescription

ChunkSize = str | int


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
    csv_settings: CsvSettings = field(default_factory=CsvSettings)
    chunk_size: ChunkSize = "auto"
    num_concurrent: int | None = None

    @classmethod
    def from_job_spec(cls, spec: Mapping[str, Any]) -> ScoringOptions:
        """Parse the scoring keys of a job spec; ``InvalidInput`` names the offending field."""
        passthrough = _strings(spec, "passthroughColumns")
        passthrough_set = spec.get("passthroughColumnsSet")
        if passthrough_set not in (None, "all"):
            raise InvalidInput.at("passthroughColumnsSet", "must be 'all'")
        if passthrough_set == "all" and passthrough:
            raise InvalidInput.at(
                "passthroughColumns", "cannot be combined with passthroughColumnsSet 'all'"
            )
        threshold = _number(spec, "predictionThreshold", 0.0, 1.0)
        max_explanations = spec.get("maxExplanations") or 0
        if (
            not isinstance(max_explanations, int)
            or isinstance(max_explanations, bool)
            or not (0 <= max_explanations <= 100)
        ):
            raise InvalidInput.at("maxExplanations", "must be an integer between 0 and 100")
        if spec.get("timeseriesSettings") not in (None, {}):
            raise UnsupportedFeature.at("timeseriesSettings", "is not supported by this server")
        top_classes, class_names = _explained_classes(spec, max_explanations)
        return cls(
            passthrough_columns=tuple(passthrough),
            passthrough_all=passthrough_set == "all",
            include_probabilities=_bool(spec, "includeProbabilities", True),
            include_probabilities_classes=tuple(_strings(spec, "includeProbabilitiesClasses")),
            prediction_threshold=threshold,
            include_prediction_status=_bool(spec, "includePredictionStatus", False),
            column_names_remapping=_remapping(spec.get("columnNamesRemapping")),
            prediction_warning_enabled=_bool(spec, "predictionWarningEnabled", False),
            max_explanations=max_explanations,
            explanation_num_top_classes=top_classes,
            explanation_class_names=class_names,
            threshold_high=_number(spec, "thresholdHigh", None, None),
            threshold_low=_number(spec, "thresholdLow", None, None),
            abort_on_error=_bool(spec, "abortOnError", True),
            csv_settings=_csv_settings(spec.get("csvSettings")),
            chunk_size=_chunk_size(spec.get("chunkSize")),
            num_concurrent=_num_concurrent(spec.get("numConcurrent")),
        )


def check_against_model(
    options: ScoringOptions, description: ModelDescription, header: list[str] | None
) -> None:
    """Refuse options the deployment cannot honour (a 422 at submit).

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


def _explained_classes(
    spec: Mapping[str, Any], max_explanations: int
) -> tuple[int | None, tuple[str, ...]]:
    """(``explanationNumTopClasses``, ``explanationClassNames``), checked without the model."""
    top = spec.get("explanationNumTopClasses")
    names = _strings(spec, "explanationClassNames")
    if top is not None and (
        not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 10
    ):
        raise InvalidInput.at("explanationNumTopClasses", "must be an integer between 1 and 10")
    if names and top is not None:
        raise InvalidInput.at(
            "explanationClassNames", "cannot be combined with explanationNumTopClasses"
        )
    if len(names) > 10:
        raise InvalidInput.at("explanationClassNames", "must list between 1 and 10 class names")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidInput.at("explanationClassNames", f"lists {repeated} more than once")
    key = "explanationNumTopClasses" if top is not None else "explanationClassNames"
    if (top is not None or names) and max_explanations == 0:
        raise InvalidInput.at(key, "needs maxExplanations of at least 1")
    return top, tuple(names)


def _bool(spec: Mapping[str, Any], key: str, default: bool) -> bool:
    value = spec.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput.at(key, "must be true or false")
    return value


def _number(
    spec: Mapping[str, Any], key: str, low: float | None, high: float | None
) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput.at(key, "must be a number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidInput.at(key, f"must be between {low} and {high}")
    return float(value)


def _strings(spec: Mapping[str, Any], key: str) -> list[str]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidInput.at(key, "must be a list of column names")
    if not all(isinstance(item, str) and item for item in value):
        raise InvalidInput.at(key, "must contain only non-empty strings")
    return list(value)


def _remapping(value: Any) -> dict[str, str | None]:
    if value is None:
        return {}
    if isinstance(value, list):
        pairs = []
        for entry in value:
            if not isinstance(entry, Mapping) or "inputName" not in entry:
                raise InvalidInput.at(
                    "columnNamesRemapping", "list items must have inputName and outputName"
                )
            pairs.append((entry["inputName"], entry.get("outputName")))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise InvalidInput.at("columnNamesRemapping", "must map column names to names or null")
    for old, new in pairs:
        if not isinstance(old, str) or (new is not None and not isinstance(new, str)):
            raise InvalidInput.at("columnNamesRemapping", f"bad entry {old!r}: {new!r}")
    return dict(pairs)


def _csv_settings(value: Any) -> CsvSettings:
    if value is not None and not isinstance(value, Mapping):
        raise InvalidInput.at("csvSettings", "must be an object")
    settings = CsvSettings.from_wire(value)
    if len(settings.delimiter) != 1:
        raise InvalidInput.at("csvSettings.delimiter", "must be one character or 'tab'")
    if len(settings.quotechar) != 1:
        raise InvalidInput.at("csvSettings.quotechar", "must be one character")
    import codecs

    try:
        codecs.lookup(settings.encoding)
    except LookupError:
        raise InvalidInput.at(
            "csvSettings.encoding", f"unknown encoding {settings.encoding!r}"
        ) from None
    return settings


def _chunk_size(value: Any) -> ChunkSize:
    if value is None:
        return "auto"
    if value in ("auto", "fixed", "dynamic"):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise InvalidInput.at("chunkSize", "must be 'auto', 'fixed', 'dynamic' or a number of bytes")


def _num_concurrent(value: Any) -> int | None:
    if value is None:
        return None
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not 1 <= value <= MAX_NUM_CONCURRENT
    ):
        raise InvalidInput.at(
            "numConcurrent", f"must be an integer between 1 and {MAX_NUM_CONCURRENT}"
        )
    return value
