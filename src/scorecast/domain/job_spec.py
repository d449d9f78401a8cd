"""The batch prediction job spec: DataRobot's camelCase keys, validated, with server defaults.

``normalize_job_spec(raw)`` is the one gate every job spec passes (``POST batchPredictions/``,
job definitions, ``fromExisting``): it checks each key's type and range, fills DataRobot's
defaults (``chunkSize "auto"``, ``abortOnError true``, ``includeProbabilities true``, the
``csvSettings`` defaults, ...) and returns a new dict that is safe to store and to echo back as
``jobSpec``. Problems are collected and raised together as one ``InvalidInput`` whose ``errors``
name every offending field (``{"csvSettings": {"delimiter": "..."}}``).

What this module does not judge: the keys inside ``intakeSettings``/``outputSettings`` beyond
their ``type`` (the connectors' validators do, and ``statementType`` spellings are kept exactly as
sent), whether ids exist (the service does), and whether the deployment's model supports the
scoring options (``scorecast.domain.scoring_options`` does).
"""

from __future__ import annotations

import codecs
import copy
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from scorecast.domain.spec_secrets import prediction_instance_problems, without_secrets
from scorecast.errors import InvalidInput, UnsupportedFeature

#: Largest ``numConcurrent`` accepted (each concurrent chunk may hold a thread or a process).
MAX_NUM_CONCURRENT: Final = 64
#: Largest fixed ``chunkSize`` accepted, in bytes.
MAX_CHUNK_SIZE: Final = 1 << 30
#: Chunk size strategies DataRobot accepts besides a number of bytes.
CHUNK_STRATEGIES: Final = ("auto", "fixed", "dynamic")
EXPLANATION_ALGORITHMS: Final = ("shap", "xemp")
TIMESERIES_TYPES: Final = ("forecast", "historical", "training")

#: Keys this server accepts but does not interpret; they are stored and echoed unchanged.
_OPAQUE_KEYS: Final = (
    "modelPackageId",
    "pinnedModelId",
    "monitoringBatchPrefix",
    "secondaryDatasetsConfigId",
    "explanationsMode",
)

_Errors = dict[str, Any]


def default_csv_settings() -> dict[str, str]:
    return {"delimiter": ",", "quotechar": '"', "encoding": "utf-8"}


def normalize_job_spec(raw: object, *, default_num_concurrent: int = 1) -> dict[str, Any]:
    """Validate a camelCase job spec and return it with every default filled in.

    ``default_num_concurrent`` is used when ``numConcurrent`` is absent (DataRobot: the number
    of cores available for scoring). Raises ``InvalidInput`` naming every bad field, or
    ``UnsupportedFeature`` for valid DataRobot input this server does not implement
    (``modelId`` leaderboard scoring, monitoring jobs).
    """
    if not isinstance(raw, Mapping):
        raise InvalidInput("the job spec must be a JSON object", {"body": "must be an object"})
    errors: _Errors = {}
    spec: dict[str, Any] = {}
    unsupported: _Errors = {}

    for key in raw:
        if key not in _CHECKS and key not in _OPAQUE_KEYS and key not in _UNSUPPORTED_KEYS:
            errors[str(key)] = "unknown field"

    for key, problem in _UNSUPPORTED_KEYS.items():
        if raw.get(key) is not None:
            unsupported[key] = problem
    if raw.get("batchJobType") not in (None, "prediction"):
        if raw.get("batchJobType") == "monitoring":
            unsupported["batchJobType"] = "monitoring jobs are not supported by this server"
        else:
            errors["batchJobType"] = "must be 'prediction' or 'monitoring'"

    for key, check in _CHECKS.items():
        value = raw.get(key)
        try:
            result = check(value, default_num_concurrent)
        except _FieldError as exc:
            errors[key] = exc.problem
            continue
        if result is not _OMIT:
            spec[key] = result

    for key in _OPAQUE_KEYS:
        if key in raw:
            spec[key] = copy.deepcopy(raw[key])

    missing_target = spec.get("deploymentId") is None and raw.get("modelId") is None
    if missing_target and "deploymentId" not in errors:
        errors["deploymentId"] = "is required"
    if spec.get("passthroughColumns") and spec.get("passthroughColumnsSet") is not None:
        errors["passthroughColumnsSet"] = "cannot be combined with passthroughColumns"
    if spec.get("explanationClassNames") and spec.get("explanationNumTopClasses") is not None:
        errors["explanationClassNames"] = "cannot be combined with explanationNumTopClasses"
    low, high = spec.get("thresholdLow"), spec.get("thresholdHigh")
    if low is not None and high is not None and low > high:
        errors["thresholdLow"] = f"{low} is greater than thresholdHigh {high}"

    if errors:
        raise InvalidInput(_summary("invalid job spec", errors), errors)
    if unsupported:
        raise UnsupportedFeature(_summary("not supported by this server", unsupported), unsupported)
    return spec


def merge_job_spec(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A top-level partial merge: keys in ``changes`` replace those of ``base`` whole.

    ``intakeSettings``/``outputSettings`` (and every other object) are replaced, not merged
    key by key, so stale adapter keys never survive a change of ``type``. ``deploymentId`` and
    ``modelId`` replace each other. The result still needs ``normalize_job_spec``.
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


class _FieldError(Exception):
    def __init__(self, problem: Any) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _Omit:
    pass


_OMIT: Final = _Omit()

_UNSUPPORTED_KEYS: Final = {
    "modelId": "scoring a leaderboard model is not supported; register it and use deploymentId",
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _string_list(value: object, *, allow_blank: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _FieldError("must be a list of strings")
    if not allow_blank and any(not item for item in value):
        raise _FieldError("must not contain empty strings")
    return list(value)


def _bool(default: bool | None) -> Callable[[object, int], Any]:
    def check(value: object, _: int) -> Any:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise _FieldError("must be true or false")
        return value

    return check


def _optional_number(low: float | None = None, high: float | None = None) -> Callable[..., Any]:
    def check(value: object, _: int) -> Any:
        if value is None:
            return None
        if not _is_number(value):
            raise _FieldError("must be a number")
        number = float(value)  # type: ignore[arg-type]
        if (low is not None and number < low) or (high is not None and number > high):
            raise _FieldError(f"{value} is out of range {low}-{high}")
        return number

    return check


def _deployment_id(value: object, _: int) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _FieldError("must be a non-empty string")
    return value


def _num_concurrent(value: object, default: int) -> Any:
    if value is None:
        return max(1, default)
    if not _is_int(value) or not 1 <= value <= MAX_NUM_CONCURRENT:  # type: ignore[operator]
        raise _FieldError(f"must be an integer between 1 and {MAX_NUM_CONCURRENT}")
    return value


def _chunk_size(value: object, _: int) -> Any:
    if value is None:
        return "auto"
    if isinstance(value, str):
        if value not in CHUNK_STRATEGIES:
            raise _FieldError(f"must be one of {', '.join(CHUNK_STRATEGIES)} or a number of bytes")
        return value
    if not _is_int(value) or not 1 <= value <= MAX_CHUNK_SIZE:  # type: ignore[operator]
        raise _FieldError(f"must be an integer between 1 and {MAX_CHUNK_SIZE} bytes")
    return value


def _settings(required: bool, default: Mapping[str, Any] | None) -> Callable[..., Any]:
    def check(value: object, _: int) -> Any:
        if value is None:
            if required:
                raise _FieldError("is required")
            return dict(default) if default is not None else _OMIT
        if not isinstance(value, Mapping):
            raise _FieldError("must be an object")
        kind = value.get("type")
        if not isinstance(kind, str) or not kind:
            raise _FieldError({"type": "is required (a string such as 'localFile' or 's3')"})
        return copy.deepcopy(dict(value))

    return check


def _csv_settings(value: object, _: int) -> Any:
    if value is None:
        return default_csv_settings()
    if not isinstance(value, Mapping):
        raise _FieldError("must be an object")
    problems: _Errors = {}
    settings = default_csv_settings()
    for key in value:
        if key not in settings:
            problems[str(key)] = "unknown field (expected delimiter, quotechar, encoding)"
    delimiter = value.get("delimiter")
    if delimiter is not None:
        if delimiter == "tab":
            settings["delimiter"] = "\t"
        elif isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in "\r\n":
            settings["delimiter"] = delimiter
        else:
            problems["delimiter"] = "must be one character or 'tab'"
    quotechar = value.get("quotechar")
    if quotechar is not None:
        if isinstance(quotechar, str) and len(quotechar) == 1 and quotechar not in "\r\n":
            settings["quotechar"] = quotechar
        else:
            problems["quotechar"] = "must be one character"
    encoding = value.get("encoding")
    if encoding is not None:
        if not isinstance(encoding, str) or not _known_codec(encoding):
            problems["encoding"] = f"unknown encoding {encoding!r}"
        else:
            settings["encoding"] = encoding
    clash = settings["delimiter"] == settings["quotechar"]
    if clash and "delimiter" not in problems and "quotechar" not in problems:
        problems["quotechar"] = "must differ from the delimiter"
    if problems:
        raise _FieldError(problems)
    return settings


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _passthrough_columns(value: object, _: int) -> Any:
    if value is None:
        return []
    return _string_list(value, allow_blank=True)


def _passthrough_columns_set(value: object, _: int) -> Any:
    if value is None:
        return None
    if value != "all":
        raise _FieldError("must be 'all'")
    return value


def _probability_classes(value: object, _: int) -> Any:
    if value is None:
        return []
    return [str(item) for item in _string_list(value)]


def _max_explanations(value: object, _: int) -> Any:
    if value is None:
        return 0
    if not _is_int(value) or value < 0:  # type: ignore[operator]
        raise _FieldError("must be an integer >= 0")
    return value


def _max_ngram_explanations(value: object, _: int) -> Any:
    if value is None:
        return _OMIT
    if value == "all" or (_is_int(value) and value >= 0):  # type: ignore[operator]
        return value
    raise _FieldError("must be an integer >= 0 or 'all'")


def _explanation_algorithm(value: object, _: int) -> Any:
    if value is None:
        return _OMIT
    if value not in EXPLANATION_ALGORITHMS:
        raise _FieldError(f"must be one of {', '.join(EXPLANATION_ALGORITHMS)}")
    return value


def _explanation_num_top_classes(value: object, _: int) -> Any:
    if value is None:
        return _OMIT
    if not _is_int(value) or not 1 <= value <= 10:  # type: ignore[operator]
        raise _FieldError("must be an integer between 1 and 10")
    return value


def _explanation_class_names(value: object, _: int) -> Any:
    if value is None:
        return _OMIT
    names = _string_list(value)
    if not 1 <= len(names) <= 10:
        raise _FieldError("must list between 1 and 10 class names")
    return names


def _column_names_remapping(value: object, _: int) -> Any:
    """``{"old": "new" | null}`` or ``[{"inputName", "outputName"}]``; returned as a dict."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list):
        items = []
        for index, entry in enumerate(value):
            if not isinstance(entry, Mapping) or "inputName" not in entry:
                raise _FieldError(f"item {index} must be an object with inputName and outputName")
            items.append((entry["inputName"], entry.get("outputName")))
    else:
        raise _FieldError("must be an object mapping column names to new names or null")
    remapping: dict[str, str | None] = {}
    for old, new in items:
        if not isinstance(old, str) or not old:
            raise _FieldError("column names must be non-empty strings")
        if new is not None and (not isinstance(new, str) or not new):
            raise _FieldError(f"the new name of {old!r} must be a non-empty string or null")
        remapping[old] = new
    return remapping


def _timeseries_settings(value: object, _: int) -> Any:
    if value is None:
        return _OMIT
    if not isinstance(value, Mapping):
        raise _FieldError("must be an object")
    if value.get("type") not in TIMESERIES_TYPES:
        raise _FieldError({"type": f"must be one of {', '.join(TIMESERIES_TYPES)}"})
    return copy.deepcopy(dict(value))


def _prediction_instance(value: object, _: int) -> Any:
    """Kept without its secrets (``domain/spec_secrets.py``): scorecast calls no prediction
    server, so ``apiKey`` and ``datarobotKey`` are accepted and dropped, never stored."""
    if value is None:
        return _OMIT
    if not isinstance(value, Mapping):
        raise _FieldError("must be an object")
    problems = prediction_instance_problems(value)
    if problems:
        raise _FieldError(problems)
    return without_secrets({"predictionInstance": value})["predictionInstance"]


def _batch_job_type(value: object, _: int) -> Any:
    return _OMIT if value is None else value


_CHECKS: Final[dict[str, Callable[[object, int], Any]]] = {
    "deploymentId": _deployment_id,
    "numConcurrent": _num_concurrent,
    "chunkSize": _chunk_size,
    "intakeSettings": _settings(required=True, default=None),
    "outputSettings": _settings(required=False, default={"type": "localFile"}),
    "csvSettings": _csv_settings,
    "abortOnError": _bool(True),
    "includeProbabilities": _bool(True),
    "includeProbabilitiesClasses": _probability_classes,
    "includePredictionStatus": _bool(False),
    "skipDriftTracking": _bool(False),
    "disableRowLevelErrorHandling": _bool(False),
    "predictionWarningEnabled": _bool(None),
    "passthroughColumns": _passthrough_columns,
    "passthroughColumnsSet": _passthrough_columns_set,
    "maxExplanations": _max_explanations,
    "maxNgramExplanations": _max_ngram_explanations,
    "explanationAlgorithm": _explanation_algorithm,
    "explanationNumTopClasses": _explanation_num_top_classes,
    "explanationClassNames": _explanation_class_names,
    "thresholdHigh": _optional_number(),
    "thresholdLow": _optional_number(),
    "predictionThreshold": _optional_number(0.0, 1.0),
    "columnNamesRemapping": _column_names_remapping,
    "timeseriesSettings": _timeseries_settings,
    "predictionInstance": _prediction_instance,
    "batchJobType": _batch_job_type,
}
