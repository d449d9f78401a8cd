"""``deployments/``: register a model file, get, list, rename, delete.

Registering is scorecast's own route (DataRobot builds deployments from its model registry):
``POST deployments/fromModelFile/`` with a multipart body — ``file`` (the model: ONNX, and the
formats the predictors support), ``targetName``, ``targetType`` (regression, binary, multiclass;
any case), optional ``positiveClass``, ``label``, ``trustPickle``, ``featureNames`` (the
input column names ``a,b,c`` of a model that does not record them: an ONNX model with one
matrix input) and ``predictionRange`` (``low,high``: a regression model's default range for
prediction warnings, ``domain.prediction_warnings``). It answers 201 with the deployment and
its ``Location``.
``GET deployments/{id}/`` answers as DataRobot's (reference §15) plus a ``scorecastModel``
object describing the model's inputs and classes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from scorecast.api.auth import CallerDep
from scorecast.api.deps import SessionDep, SettingsDep
from scorecast.api.documented import PAGE_RESPONSE
from scorecast.api.form_fields import form_fields
from scorecast.api.pagination import DEFAULT_LIMIT, page_envelope
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import JsonObject, Limit, Offset, format_datetime
from scorecast.domain.model_description import parse_feature_names
from scorecast.domain.prediction_warnings import parse_prediction_range
from scorecast.errors import InvalidInput
from scorecast.service import deployments
from scorecast.service.deployments import ModelUpload
from scorecast.store.models import Deployment

router = APIRouter(tags=["Deployments"], route_class=TransactionRoute)
#: the fields of ``fromModelFile``'s form (any other is refused, not ignored)
MODEL_FILE_FIELDS = frozenset(
    {
        "file",
        "targetName",
        "targetType",
        "positiveClass",
        "label",
        "trustPickle",
        "featureNames",
        "predictionRange",
    }
)

_DATAROBOT_TARGET_TYPES = {
    "regression": "Regression",
    "binary": "Binary",
    "multiclass": "Multiclass",
}


def deployment_to_wire(deployment: Deployment) -> dict[str, Any]:
    """DataRobot's deployment object (only ``id`` is required by the client)."""
    model = deployment.model
    target_type = str(model.get("target_type", ""))
    return {
        "id": deployment.id,
        "label": deployment.label,
        "description": "",
        "status": deployment.status,
        "createdAt": format_datetime(deployment.created),
        "model": {
            "id": str(model.get("sha256", ""))[:24],
            "type": str(model.get("format", "")),
            "targetName": model.get("target"),
            "targetType": _DATAROBOT_TARGET_TYPES.get(target_type, target_type),
        },
        "scorecastModel": {
            "format": model.get("format"),
            "sha256": model.get("sha256"),
            "targetType": target_type,
            "features": [
                {"name": feature["name"], "type": feature.get("type", "numeric")}
                for feature in model.get("features", [])
            ],
            "classLabels": list(model.get("class_labels") or []),
            "positiveClass": model.get("positive_class"),
            "predictionThreshold": model.get("prediction_threshold"),
            "canExplain": bool(model.get("can_explain")),
            "predictionRange": _range_to_wire(model.get("prediction_range")),
        },
        "permissions": ["CAN_VIEW", "CAN_SCORE"],
    }


def _range_to_wire(value: Any) -> dict[str, float] | None:
    return {"lower": float(value[0]), "upper": float(value[1])} if value else None


@router.post(
    "/deployments/fromModelFile/",
    status_code=201,
    name="create_deployment_from_file",
    dependencies=[form_fields(MODEL_FILE_FIELDS)],
)
def create_deployment_from_file(
    *,
    request: Request,
    response: Response,
    file: Annotated[UploadFile, File(description="the model file (e.g. model.onnx)")],
    target_name: Annotated[str, Form(alias="targetName")],
    target_type: Annotated[str, Form(alias="targetType")],
    positive_class: Annotated[str | None, Form(alias="positiveClass")] = None,
    label: Annotated[str | None, Form()] = None,
    trust_pickle: Annotated[bool, Form(alias="trustPickle")] = False,
    feature_names: Annotated[str | None, Form(alias="featureNames")] = None,
    prediction_range: Annotated[str | None, Form(alias="predictionRange")] = None,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Register an uploaded model file as a new deployment (multipart form)."""
    declared = ModelUpload(
        target=target_name,
        target_type=target_type,
        positive_class=positive_class,
        label=label,
        trust_pickle=trust_pickle,
        feature_names=(
            tuple(parse_feature_names(feature_names)) if feature_names is not None else None
        ),
        prediction_range=(
            parse_prediction_range(prediction_range) if prediction_range is not None else None
        ),
    )
    deployment = deployments.register_model(
        session, caller, settings, stream=file.file, filename=file.filename, declared=declared
    )
    location = request.url_for("get_deployment", deployment_id=deployment.id)
    response.headers["Location"] = str(location)
    return deployment_to_wire(deployment)


@router.get("/deployments/", name="list_deployments", responses=PAGE_RESPONSE)
def list_deployments(
    *,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    search: Annotated[str | None, Query()] = None,
    order_by: Annotated[
        str | None,
        Query(alias="orderBy", description="label or lastPredictionTimestamp; - descends"),
    ] = None,
) -> dict[str, Any]:
    """The organization's deployments, newest first unless ``orderBy``; ``search`` filters
    on the label."""
    limit = limit or DEFAULT_LIMIT
    page, total = deployments.list_deployments(
        session, caller, offset=offset, limit=limit, search=search, order_by=order_by
    )
    data = [deployment_to_wire(deployment) for deployment in page]
    return page_envelope(request, data, total=total, offset=offset, limit=limit)


@router.get("/deployments/{deployment_id}/", name="get_deployment")
def get_deployment(deployment_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    return deployment_to_wire(deployments.get_deployment(session, caller, deployment_id))


@router.patch("/deployments/{deployment_id}/", name="update_deployment")
def update_deployment(
    deployment_id: str, body: JsonObject, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """Rename: ``{"label": ...}``."""
    unknown = sorted(set(body) - {"label"})
    if unknown:
        raise InvalidInput(
            f"only label can be changed (got {', '.join(unknown)})",
            {key: "cannot be changed" for key in unknown},
        )
    label = body.get("label")
    if label is not None and not isinstance(label, str):
        raise InvalidInput.at("label", "must be a string")
    deployment = deployments.update_deployment(session, caller, deployment_id, label=label)
    return deployment_to_wire(deployment)


@router.delete("/deployments/{deployment_id}/", status_code=204, name="delete_deployment")
def delete_deployment(
    deployment_id: str, session: SessionDep, caller: CallerDep, settings: SettingsDep
) -> Response:
    """Delete a deployment and its artifact (409 while jobs or definitions use it)."""
    deployments.delete_deployment(session, caller, settings, deployment_id)
    return Response(status_code=204)
