"""The console's forms that make and remove objects: credentials, data stores, deployments.

Each form is a CSRF-checked POST that goes through the same service function as the API
(``service.credentials``, ``service.data_stores``, ``service.deployments``), so it is checked
the same way and scoped to the signed-in organization; it answers with a redirect carrying a
message or the service's error (post/redirect/get). A secret typed into the credential form is
encrypted as the API encrypts it and never sent back, not even when the form is refused.

A model upload (``POST /deployments/upload``, multipart) has the API's upload size limit
(``SCORECAST_MAX_UPLOAD_BYTES``, see ``api.body_limits``); a file over it is refused with the
error page (422) naming the setting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from scorecast.domain.model_description import parse_feature_names
from scorecast.domain.prediction_warnings import parse_prediction_range
from scorecast.errors import ScorecastError
from scorecast.service import credentials, data_stores, deployments
from scorecast.service.deployments import ModelUpload
from scorecast.service.secrets import SecretBox
from scorecast.web.console import (
    CsrfField,
    _back,
    _checked_form,
    _error_page,
    _settings,
    _signed_in,
    _write,
)

router = APIRouter(include_in_schema=False)
_Text = Annotated[str, Form()]
#: a secret form field: never logged, never put back into a page
_Secret = Annotated[str, Form()]


@router.post("/credentials")
def create_credential(
    request: Request,
    *,
    name: _Text = "",
    credentialType: _Text = "",  # noqa: N803 - the wire names
    description: _Text = "",
    user: _Secret = "",
    password: _Secret = "",
    awsAccessKeyId: _Secret = "",  # noqa: N803
    awsSecretAccessKey: _Secret = "",  # noqa: N803
    awsSessionToken: _Secret = "",  # noqa: N803
    azureConnectionString: _Secret = "",  # noqa: N803
    gcpKey: _Secret = "",  # noqa: N803
    csrf: CsrfField = None,
) -> Response:
    """Name, type, description and the type's secret fields (the form shows every type's
    fields; those of the other types are ignored)."""
    signed_in = _checked_form(request, csrf)
    typed = {
        "user": user,
        "password": password,
        "awsAccessKeyId": awsAccessKeyId,
        "awsSecretAccessKey": awsSecretAccessKey,
        "awsSessionToken": awsSessionToken,
        "azureConnectionString": azureConnectionString,
        "gcpKey": gcpKey,
    }
    kind = credentials.CREDENTIAL_TYPES.get(credentialType)
    body: dict[str, Any] = {
        "name": name,
        "credentialType": credentialType or None,
        "description": description,
    }
    body |= {key: typed[key] for key in (kind.fields if kind else ()) if typed.get(key)}
    box = SecretBox.from_settings(_settings(request))
    return _done(
        request,
        lambda s: credentials.create_credential(s, signed_in.caller, box, body),
        "/credentials",
        "Credential created. Its secret is stored encrypted and is never shown again.",
    )


@router.post("/credentials/{credential_id}/delete")
def delete_credential(request: Request, credential_id: str, csrf: CsrfField = None) -> Response:
    user = _checked_form(request, csrf)
    return _done(
        request,
        lambda s: credentials.delete_credential(s, user.caller, credential_id),
        "/credentials",
        "Credential deleted.",
    )


@router.post("/data-stores")
def create_data_store(
    request: Request,
    canonicalName: _Text = "",  # noqa: N803 - the wire name
    jdbcUrl: _Text = "",  # noqa: N803
    csrf: CsrfField = None,
) -> Response:
    user = _checked_form(request, csrf)
    body = {"type": "jdbc", "canonicalName": canonicalName, "params": {"jdbcUrl": jdbcUrl}}
    settings = _settings(request)
    return _done(
        request,
        lambda s: data_stores.create_data_store(s, user.caller, settings, body),
        "/data-stores",
        "Data store created.",
    )


@router.post("/data-stores/{data_store_id}/delete")
def delete_data_store(request: Request, data_store_id: str, csrf: CsrfField = None) -> Response:
    user = _checked_form(request, csrf)
    return _done(
        request,
        lambda s: data_stores.delete_data_store(s, user.caller, data_store_id),
        "/data-stores",
        "Data store deleted.",
    )


@router.post("/deployments/upload")
async def upload_model(request: Request) -> Response:
    try:
        form = await request.form()
    except HTTPException as exc:  # over the upload limit, or not a readable multipart body
        signed_in = await run_in_threadpool(_signed_in, request)
        return _error_page(request, signed_in, ScorecastError(str(exc.detail)), 422)
    try:
        user = await run_in_threadpool(_checked_form, request, _text(form.get("csrf")))
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _back("/deployments", error="file: choose a model file to upload")
        try:
            declared = _declared(form)
        except ScorecastError as exc:
            return _back("/deployments", error=exc.message)
        created: list[str] = []
        settings = _settings(request)

        def work(session: Session) -> None:
            deployment = deployments.register_model(
                session,
                user.caller,
                settings,
                stream=upload.file,
                filename=upload.filename,
                declared=declared,
            )
            created.append(deployment.id)

        try:
            await run_in_threadpool(_write, request, work)
        except ScorecastError as exc:
            return _back("/deployments", error=exc.message)
        return _back(f"/deployments/{quote(created[0])}", message="Model registered.")
    finally:
        await form.close()


def _declared(form: Any) -> ModelUpload:
    feature_names = _text(form.get("featureNames")).strip()
    prediction_range = _text(form.get("predictionRange")).strip()
    return ModelUpload(
        target=_text(form.get("targetName")),
        target_type=_text(form.get("targetType")),
        positive_class=_text(form.get("positiveClass")).strip() or None,
        label=_text(form.get("label")).strip() or None,
        trust_pickle=_text(form.get("trustPickle")) == "true",
        feature_names=tuple(parse_feature_names(feature_names)) if feature_names else None,
        prediction_range=parse_prediction_range(prediction_range) if prediction_range else None,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _done(
    request: Request, work: Callable[[Session], object], target: str, message: str
) -> Response:
    def run(session: Session) -> None:
        work(session)

    try:
        _write(request, run)
    except ScorecastError as exc:
        return _back(target, error=exc.message)
    return _back(target, message=message)
