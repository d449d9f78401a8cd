"""The console's forms that make and remove objects: credentials, data stores, deployments.

Each form is a CSRF-checked POST that goes through the same service function as the API
(``service.credentials``, ``service.data_stores``, ``service.deployments``), so it is checked
the same way and scoped to the signed-in organization. A form the service accepts answers with
a redirect carrying a message (post/redirect/get); a refused creation form is shown again (422)
with the service's error and what was typed, except secrets: a secret typed into the credential
form (user, password, keys, token, connection string) is encrypted as the API encrypts it and
never sent back, not even when the form is refused, nor is a JDBC address holding a user or
password (the reason a data store refuses it).

A model upload (``POST /deployments/upload``, multipart) has the API's upload size limit
(``SCORECAST_MAX_UPLOAD_BYTES``, see ``api.body_limits``); a file over it is refused with the
error page (422) naming the setting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from scorecast.connectors.jdbc_url import secret_like
from scorecast.domain.model_description import parse_feature_names
from scorecast.domain.prediction_warnings import parse_prediction_range
from scorecast.errors import ScorecastError
from scorecast.service import credentials, data_stores, deployments
from scorecast.service.deployments import ModelUpload
from scorecast.service.secrets import SecretBox
from scorecast.web.console import (
    CsrfField,
    Refused,
    SignedIn,
    _back,
    _checked_form,
    _error_page,
    _settings,
    _signed_in,
    _write,
    credentials_listing,
    data_stores_listing,
    deployments_listing,
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
    try:
        _write(request, lambda s: credentials.create_credential(s, signed_in.caller, box, body))
    except ScorecastError as exc:
        typed = {"name": name, "credentialType": credentialType, "description": description}
        return credentials_listing(request, signed_in, refused=Refused(typed, exc.message))
    message = "Credential created. Its secret is stored encrypted and is never shown again."
    return _back(request, signed_in, "/credentials", message=message)


@router.post("/credentials/{credential_id}/delete")
def delete_credential(request: Request, credential_id: str, csrf: CsrfField = None) -> Response:
    user = _checked_form(request, csrf)
    return _done(
        request,
        user,
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
    try:
        _write(request, lambda s: data_stores.create_data_store(s, user.caller, settings, body))
    except ScorecastError as exc:
        typed = {"canonicalName": canonicalName, "jdbcUrl": shown_address(jdbcUrl)}
        return data_stores_listing(request, user, refused=Refused(typed, exc.message))
    return _back(request, user, "/data-stores", message="Data store created.")


@router.post("/data-stores/{data_store_id}/delete")
def delete_data_store(request: Request, data_store_id: str, csrf: CsrfField = None) -> Response:
    user = _checked_form(request, csrf)
    return _done(
        request,
        user,
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
            error = "file: choose a model file to upload"
            return await _upload_refused(request, user, form, error)
        try:
            declared = _declared(form)
        except ScorecastError as exc:
            return await _upload_refused(request, user, form, exc.message)
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
            return await _upload_refused(request, user, form, exc.message)
        path = f"/deployments/{quote(created[0])}"
        return _back(request, user, path, message="Model registered.")
    finally:
        await form.close()


#: the upload form's fields shown again when it is refused (all but the file)
_UPLOAD_FIELDS = (
    "targetName",
    "targetType",
    "positiveClass",
    "label",
    "featureNames",
    "predictionRange",
)


async def _upload_refused(request: Request, user: SignedIn, form: Any, error: str) -> Response:
    typed = {name: _text(form.get(name)) for name in _UPLOAD_FIELDS}
    refused = Refused(typed, error)
    return await run_in_threadpool(deployments_listing, request, user, refused=refused)


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


#: a parameter's name in a JDBC address (``?password=…``, ``;Password=…``, and inside another
#: parameter's value: ``options=-c password=…``)
_PARAMETER_NAME = re.compile(r"([A-Za-z_][\w.-]*)\s*=")


def shown_address(typed: str) -> str:
    """A typed JDBC address as the refused form shows it again: empty when it may hold a user
    or a password (in ``user:password@``, or a parameter such as ``password=``)."""
    text = unquote(typed)
    names = (found.group(1) for found in _PARAMETER_NAME.finditer(text))
    if "@" in text or any(secret_like(name) for name in names):
        return ""
    return typed


def _done(
    request: Request,
    user: SignedIn,
    work: Callable[[Session], object],
    target: str,
    message: str,
) -> Response:
    try:
        _write(request, work)
    except ScorecastError as exc:
        return _back(request, user, target, error=exc.message)
    return _back(request, user, target, message=message)
