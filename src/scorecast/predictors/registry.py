"""The table of model formats, format detection, and the two entry points the service uses.

A new format is one module implementing ``ModelFormat`` (``predictors.base``: ``describe`` and
``load``) plus one row in ``FORMATS``, under the name its descriptions carry; mypy checks every
module of the table against the protocol.
"""

from __future__ import annotations

import json
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scorecast.errors import ModelLoadError
from scorecast.predictors import lightgbm, mlflow, onnx, pickle, sklearn_skops, xgboost
from scorecast.predictors.base import (
    TARGET_TYPES,
    Declared,
    ModelDescription,
    ModelFormat,
    Predictor,
    TargetType,
    sha256_of,
)

#: every model format this server reads, by the name in ``ModelDescription.format``
FORMATS: dict[str, ModelFormat] = {
    "onnx": onnx,
    "skops": sklearn_skops,
    "pickle": pickle,
    "lightgbm": lightgbm,
    "xgboost": xgboost,
    "mlflow": mlflow,
}


def model_format(name: str) -> ModelFormat:
    """The format called ``name``; ``ModelLoadError`` naming the supported ones for another (a
    description stored by a server that knew more formats)."""
    found = FORMATS.get(name)
    if found is None:
        raise ModelLoadError(
            f"model format {name!r} is not supported by this server; "
            f"supported: {', '.join(sorted(FORMATS))}"
        )
    return found


_EXTENSIONS = {
    ".onnx": "onnx",
    ".skops": "skops",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "pickle",
    ".lgb": "lightgbm",
    ".lightgbm": "lightgbm",
    ".ubj": "xgboost",
    ".xgb": "xgboost",
}


def detect_format(artifact: Path) -> str:
    """The format of an artifact, from its content first and its extension second."""
    if artifact.is_dir():
        if (artifact / "MLmodel").is_file():
            return "mlflow"
        raise ModelLoadError("a model directory must be an MLflow model (with an MLmodel file)")
    if not artifact.is_file():
        raise ModelLoadError(f"model artifact {artifact.name!r} does not exist")
    with artifact.open("rb") as handle:
        head = handle.read(4096)
    if zipfile.is_zipfile(artifact):
        with zipfile.ZipFile(artifact) as archive:
            names = archive.namelist()
        if any(Path(name).name == "MLmodel" for name in names):
            return "mlflow"
        if "schema.json" in names:
            return "skops"
    if head.startswith(lightgbm.MAGIC):
        return "lightgbm"
    if head.startswith(b"\x80") and artifact.suffix.lower() not in (".onnx",):
        return "pickle"
    if head.lstrip().startswith(b"{") and b'"learner"' in head:
        return "xgboost"
    by_extension = _EXTENSIONS.get(artifact.suffix.lower())
    if by_extension:
        return by_extension
    if artifact.suffix.lower() == ".json":
        return "xgboost"
    raise ModelLoadError(
        f"cannot tell the model format of {artifact.name!r}: use .onnx, .skops, .joblib/.pkl "
        "(with trust_pickle), a LightGBM text file, an XGBoost .json/.ubj file or an MLflow "
        "model directory/zip"
    )


def describe_model(
    artifact: Path,
    *,
    target: str,
    target_type: str,
    positive_class: str | None,
    trust_pickle: bool = False,
    prediction_range: tuple[float, float] | None = None,
    feature_names: Sequence[str] | None = None,
) -> ModelDescription:
    """Load a model artifact, check it against the declared target, and describe it.

    Raises ``InvalidInput``-free ``ModelLoadError`` (422) for an artifact that cannot be loaded,
    a format that cannot be told, a pickle without ``trust_pickle``, or a model contradicting
    ``target_type``, or ``feature_names`` other than the names a model records for its own
    inputs; ``MissingExtra`` when the format's package is not installed.
    """
    if not target:
        raise ModelLoadError("the target name must not be empty", {"targetName": "required"})
    if target_type not in TARGET_TYPES:
        raise ModelLoadError(
            f"target type {target_type!r} is not one of {', '.join(TARGET_TYPES)}",
            {"targetType": f"must be one of {', '.join(TARGET_TYPES)}"},
        )
    if prediction_range is not None and not prediction_range[0] <= prediction_range[1]:
        raise ModelLoadError(
            "the prediction range must be (low, high) with low <= high",
            {"predictionRange": "low must not exceed high"},
        )
    if prediction_range is not None and target_type != "regression":
        raise ModelLoadError(
            "a prediction range is only meaningful for regression",
            {"predictionRange": "only for regression targets"},
        )
    declared = Declared(
        target=target,
        target_type=target_type,  # type: ignore[arg-type]
        positive_class=positive_class,
        trust_pickle=trust_pickle,
        prediction_range=prediction_range,
        feature_names=tuple(feature_names) if feature_names is not None else None,
    )
    fmt = model_format(detect_format(artifact))
    description = fmt.describe(artifact, declared, sha256_of(artifact))
    description.trust_pickle = trust_pickle
    if not description.features:
        raise ModelLoadError("the model declares no input features")
    if feature_names is not None and description.feature_names != list(feature_names):
        raise ModelLoadError(
            f"the model names its own input columns ({', '.join(description.feature_names)}), "
            "which differ from the feature names given; leave the feature names out",
            {"featureNames": "differ from the column names the model records"},
        )
    return description


#: loaded models kept per process, least recently used first out
CACHE_SIZE = 8
#: the formats whose loaded model may serve later jobs of a job process (see ``keep_between_jobs``)
KEPT_BETWEEN_JOBS = frozenset({"onnx", "skops"})
#: at most this many models are kept between jobs ...
KEPT_MODELS = 4
#: ... whose artifact files sum to at most this many bytes (a loaded model's memory grows
#: with its file; a process above ``Settings.job_process_max_rss_mb`` is replaced anyway)
KEPT_BYTES = 256 * 2**20


@dataclass(frozen=True)
class _Loaded:
    predictor: Predictor
    #: the artifact file as it was when loaded: a file changed since is loaded again
    signature: tuple[int, ...]
    format: str


_cache: OrderedDict[tuple[str, str], _Loaded] = OrderedDict()
_cache_lock = threading.Lock()


def load_predictor(artifact: Path, description: ModelDescription) -> Predictor:
    """The loaded model, cached per process by artifact path and the whole description.

    The description is part of the key because the same file can be registered twice with
    different declarations (another positive class flips probabilities and explanations); it
    holds the artifact's content digest recorded at registration. A cached model is used only
    while the file is the one it was loaded from (same inode, size, modification and change
    times): a file rewritten or replaced since is loaded again.
    """
    key = (str(artifact), json.dumps(description.to_dict(), sort_keys=True))
    signature = _signature(artifact)
    with _cache_lock:
        loaded = _cache.get(key)
        if loaded is None or loaded.signature != signature:
            predictor = model_format(description.format).load(artifact, description)
            loaded = _cache[key] = _Loaded(predictor, signature, description.format)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return loaded.predictor


def _signature(artifact: Path) -> tuple[int, ...]:
    """What changes whenever the file's content can have changed (a directory: its own
    entry only; MLflow models are never kept between jobs)."""
    try:
        found = artifact.stat()
    except OSError:
        return ()
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)


def forget_loaded() -> None:
    """Drop every loaded model."""
    with _cache_lock:
        _cache.clear()


def keep_between_jobs() -> None:
    """Drop the loaded models a later job must not get (a job process does between two jobs:
    ``runtime.job_traces``): keep only the most recently used models of the formats in
    ``KEPT_BETWEEN_JOBS``, at most ``KEPT_MODELS`` of them and ``KEPT_BYTES`` of files.

    Why a kept model is safe for the next job: an ONNX session and a scikit-learn estimator
    loaded through skops' type check keep no state of the rows they score (scoring reads the
    model, never writes it; our predictors set their attributes when built only), no file open
    and no credential; the object was made from the artifact's content alone, which the
    signature check ties to the file the next job names. Pickle and MLflow models run code
    of their own when loaded, so their jobs get a process of their own (``runtime.worker``).
    """
    with _cache_lock:
        kept: list[tuple[tuple[str, str], _Loaded]] = []
        total = 0
        for key, loaded in reversed(_cache.items()):
            size = loaded.signature[2] if loaded.signature else KEPT_BYTES + 1
            if (
                loaded.format in KEPT_BETWEEN_JOBS
                and len(kept) < KEPT_MODELS
                and total + size <= KEPT_BYTES
            ):
                kept.append((key, loaded))
                total += size
        _cache.clear()
        _cache.update(reversed(kept))


def loaded_models() -> list[tuple[str, str]]:
    """The (artifact path, format) of the models loaded in this process, oldest first."""
    with _cache_lock:
        return [(key[0], loaded.format) for key, loaded in _cache.items()]


__all__ = [
    "FORMATS",
    "TargetType",
    "describe_model",
    "detect_format",
    "forget_loaded",
    "keep_between_jobs",
    "load_predictor",
    "loaded_models",
    "model_format",
]
