"""Models whose loading runs code from their files (pickle, joblib, MLflow): the operator's rule.

Unpickling a file runs whatever the file says, with the service's rights: it can read the
credential key, the store and every organization's files. So a request never decides it:

- ``settings.allow_pickle_models`` (``SCORECAST_ALLOW_PICKLE_MODELS``, off by default) says
  whether this server loads such models at all. Off, a registration that asks for it
  (``trustPickle``) is refused before the file is even stored, and a deployment registered
  that way earlier fails its jobs without its file being loaded.
- ``settings.pickle_model_roles`` (``SCORECAST_PICKLE_MODEL_ROLES``) says who may register
  them: ``admin`` (organization administrators, the default) and/or ``user`` (every user).

A registration without ``trustPickle`` never unpickles either: the pickle and MLflow loaders
refuse such a file before reading it (``predictors.pickle``, ``predictors.mlflow``).
"""

from __future__ import annotations

from scorecast.config import Settings
from scorecast.domain.model_description import ModelDescription
from scorecast.errors import JobFailure, PermissionDenied, UnsupportedFeature
from scorecast.service.caller import Caller

#: the model formats whose loader unpickles the file
UNPICKLED_FORMATS = frozenset({"pickle", "mlflow"})
_SETTING = "SCORECAST_ALLOW_PICKLE_MODELS"


def check_may_register(settings: Settings, caller: Caller, *, trust_pickle: bool) -> None:
    """Refuse a registration asking for ``trustPickle`` unless the operator allows such
    models (``UnsupportedFeature``, 422) and ``caller`` has one of the allowed roles
    (``PermissionDenied``, 403); both name the field ``trustPickle``."""
    if not trust_pickle:
        return
    if not settings.allow_pickle_models:
        raise UnsupportedFeature(
            "this server does not load pickle, joblib or MLflow models (loading them runs code "
            f"from the file); its operator can allow them with {_SETTING}. Save the model "
            "with skops or ONNX instead",
            {"trustPickle": "pickle models are not allowed on this server"},
        )
    if not roles_of(caller) & settings.pickle_model_roles:
        allowed = " or ".join(sorted(settings.pickle_model_roles))
        raise PermissionDenied(
            f"registering a pickle, joblib or MLflow model is reserved to users with the role "
            f"{allowed} on this server",
            {"trustPickle": f"only for role {allowed}"},
        )


def check_may_score(settings: Settings, description: ModelDescription) -> None:
    """``JobFailure`` for a deployment whose model must be unpickled while the operator's
    setting is off (it was registered while it was on); nothing of the file is read."""
    if description.format in UNPICKLED_FORMATS and not settings.allow_pickle_models:
        raise JobFailure(
            f"the deployment's model is a {description.format} model, whose loading runs code "
            f"from the file, and this server no longer allows such models ({_SETTING} is off)",
            {"deploymentId": "pickle models are not allowed on this server"},
        )


def roles_of(caller: Caller) -> frozenset[str]:
    """The roles ``SCORECAST_PICKLE_MODEL_ROLES`` can name that ``caller`` has."""
    return frozenset({"admin", "user"}) if caller.is_admin else frozenset({"user"})
