"""``deployments/{id}/settings/``: a deployment's settings, as the official client reads and
changes them (``Deployment.get_prediction_warning_settings`` and
``update_prediction_warning_settings``).

``GET`` answers ``{"predictionWarning": {"enabled", "customBoundaries"}}``. ``PATCH`` takes
``{"predictionWarning": {...}}`` (see ``domain.prediction_warnings.updated_settings``); other
DataRobot settings (drift tracking, segment analysis ...) are not implemented and are a 422
naming them. DataRobot applies settings asynchronously; here they are applied when the PATCH
returns, which answers 202 with the settings and ``Location: …/settings/status/``, and that
status answers 303 to the settings, so the client's wait ends at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep
from scorecast.api.errors import AsciiJSONResponse
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import JsonObject
from scorecast.domain.prediction_warnings import PredictionWarningSettings
from scorecast.errors import InvalidInput, UnsupportedFeature
from scorecast.service import deployment_settings

router = APIRouter(tags=["Deployments"], route_class=TransactionRoute)

_SUPPORTED = "predictionWarning"


def _wire(settings: PredictionWarningSettings) -> dict[str, Any]:
    return {_SUPPORTED: settings.to_dict()}


@router.get("/deployments/{deployment_id}/settings/", name="get_deployment_settings")
def get_deployment_settings(
    deployment_id: str, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    return _wire(deployment_settings.prediction_warning_settings(session, caller, deployment_id))


@router.patch(
    "/deployments/{deployment_id}/settings/", status_code=202, name="update_deployment_settings"
)
def update_deployment_settings(
    deployment_id: str, body: JsonObject, request: Request, session: SessionDep, caller: CallerDep
) -> Response:
    """Change the prediction warning settings; answers 202 with a status ``Location``."""
    unsupported = sorted(set(body) - {_SUPPORTED})
    if unsupported:
        raise UnsupportedFeature(
            f"scorecast implements only the predictionWarning deployment settings "
            f"(got {', '.join(unsupported)})",
            {key: "is not supported by scorecast" for key in unsupported},
        )
    if _SUPPORTED not in body:
        raise InvalidInput.at(_SUPPORTED, "is required")
    settings = deployment_settings.update_prediction_warning_settings(
        session, caller, deployment_id, body[_SUPPORTED]
    )
    status = request.url_for("get_deployment_settings_status", deployment_id=deployment_id)
    return AsciiJSONResponse(_wire(settings), status_code=202, headers={"Location": str(status)})


@router.get(
    "/deployments/{deployment_id}/settings/status/",
    status_code=303,
    name="get_deployment_settings_status",
)
def get_deployment_settings_status(
    deployment_id: str, request: Request, session: SessionDep, caller: CallerDep
) -> Response:
    """Settings are applied before their PATCH returns: always a 303 to the settings."""
    deployment_settings.prediction_warning_settings(session, caller, deployment_id)
    location = str(request.url_for("get_deployment_settings", deployment_id=deployment_id))
    body = {"status": "COMPLETED", "message": ""}
    return AsciiJSONResponse(body, status_code=303, headers={"Location": location})
