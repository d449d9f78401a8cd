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

from scorecast.child_process import child_connection, start_child
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
    process, connection = start_child(__name__, "describe_here")
    with connection:
        try:
            connection.send((str(artifact), list(signing_keys), declared))
            outcome, value = connection.recv()
        except (EOFError, OSError):
            outcome, value = "crashed", None
    process.wait()
    if outcome == "crashed":
        raise ModelLoadError(
            "loading the model crashed the process that read it", {"file": "cannot be loaded"}
        )
    if outcome == "error":
        raise value
    return ModelDescription.from_dict(value)


def describe_here(descriptor: int) -> None:
    """The child's side of ``describe_in_child``."""
    from scorecast.predictors import describe_model, prepared

    with child_connection(descriptor) as connection:
        artifact, signing_keys, declared = connection.recv()
        prepared.configure(signing_keys)
        try:
            connection.send(("ok", describe_model(Path(artifact), **declared).to_dict()))
        except Exception as exc:
            try:
                connection.send(("error", exc))
            except Exception:  # an error that cannot be pickled: its text
                connection.send(("error", ModelLoadError(f"{type(exc).__name__}: {exc}")))
