"""A deployment's settings: its prediction warnings (``domain.prediction_warnings``).

Read and changed in the caller's organization only (another organization's deployment is not
found). Functions flush, never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from scorecast.domain.model_description import ModelDescription
from scorecast.domain.prediction_warnings import (
    PredictionWarningSettings,
    outlier_range,
    settings_of,
    updated_settings,
)
from scorecast.service.caller import Caller
from scorecast.service.deployments import get_deployment
from scorecast.store.models import Deployment


def prediction_warning_settings(
    session: Session, caller: Caller, deployment_id: str
) -> PredictionWarningSettings:
    deployment = get_deployment(session, caller, deployment_id)
    return settings_of(deployment.prediction_warning, _description(deployment))


def update_prediction_warning_settings(
    session: Session, caller: Caller, deployment_id: str, body: Any
) -> PredictionWarningSettings:
    """Apply a ``predictionWarning`` object (see ``updated_settings``); InvalidInput naming the
    field when it is malformed or cannot apply to this deployment's model."""
    deployment = get_deployment(session, caller, deployment_id)
    description = _description(deployment)
    current = settings_of(deployment.prediction_warning, description)
    settings = updated_settings(current, body, description)
    deployment.prediction_warning = settings.to_dict()
    session.flush()
    return settings


def scoring_description(deployment: Deployment) -> ModelDescription:
    """The model description a job of ``deployment`` scores with: its ``prediction_range`` is
    the range predictions are flagged against, None when the deployment's warnings are off."""
    description = _description(deployment)
    settings = settings_of(deployment.prediction_warning, description)
    description.prediction_range = outlier_range(settings, description)
    return description


def _description(deployment: Deployment) -> ModelDescription:
    return ModelDescription.from_dict(deployment.model)
