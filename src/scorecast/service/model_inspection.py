"""Reading a model file at registration, in a child process of its own.

Loading a model imports its library (scikit-learn, LightGBM, onnxruntime ...) and runs the
format's loader on a file a user sent. Doing it in a short-lived child process keeps the
service process free of every model library (it stays small however many formats are used),
and a file that crashes its loader ends that child, not the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scorecast.child_process import ChildDied, call_in_child
from scorecast.domain.model_description import ModelDescription
from scorecast.errors import ModelLoadError


def describe_in_child(
    artifact: Path, signing_keys: Sequence[bytes] = (), **declared: Any
) -> ModelDescription:
    """``scorecast.predictors.describe_model(artifact, **declared)``, run in a child process,
    which also stores the model's prepared form when given ``signing_keys``
    (``predictors.prepared``).

    Its errors (``ModelLoadError``, ``MissingExtra`` ...) are raised here as they were there;
    a child that dies is a ``ModelLoadError``.
    """
    try:
        data = call_in_child(__name__, "_describe", str(artifact), list(signing_keys), declared)
    except ChildDied:
        raise ModelLoadError(
            "loading the model crashed the process that read it", {"file": "cannot be loaded"}
        ) from None
    return ModelDescription.from_dict(data)


def _describe(artifact: str, signing_keys: list[bytes], declared: dict[str, Any]) -> dict[str, Any]:
    from scorecast.predictors import describe_model, prepared

    prepared.configure(signing_keys)
    return describe_model(Path(artifact), **declared).to_dict()
