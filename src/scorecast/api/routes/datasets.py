"""``datasets/``: upload CSV/Parquet files (``fromFile/``), versions, get, list, PATCH (name
and categories), download (``file/``), delete.

Every dataset object carries the details ``dr.DatasetDetails`` needs (``dataSourceType``,
``error``, ``lastModificationDate``, ``lastModifierFullName``, ``uri``), so
``Dataset.get_details`` works on any of them.

DataRobot's upload is asynchronous; here it is done when the POST returns. The POST answers 202
with ``Location: …/status/{datasetId}/`` as DataRobot does, and ``GET status/{id}/`` answers 303
to the dataset, so ``dr.Dataset.create_from_file`` works unchanged; with ``categories`` the
client then PATCHes the new dataset (``Dataset.modify``), which answers 200 with the dataset.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, StreamingResponse

from scorecast.api.auth import CallerDep
from scorecast.api.byte_ranges import Unsatisfiable, requested_range
from scorecast.api.deps import SessionDep, SettingsDep
from scorecast.api.documented import PAGE_RESPONSE
from scorecast.api.errors import error_response
from scorecast.api.form_fields import form_fields
from scorecast.api.pagination import DEFAULT_LIMIT, page_envelope
from scorecast.api.transactions import TransactionRoute
from scorecast.api.wire import JsonObject, Limit, Offset, format_datetime
from scorecast.service import datasets
from scorecast.service.datasets import DatasetFilters, DatasetView, StoredFile

router = APIRouter(tags=["Datasets"], route_class=TransactionRoute)

Upload = Annotated[UploadFile, File(description="a CSV or Parquet file")]


#: where every dataset's data came from: a file uploaded through ``fromFile/``
_DATA_SOURCE_TYPE = "file"


def dataset_to_wire(view: DatasetView) -> dict[str, Any]:
    """DataRobot's dataset object for one version, with its details (``DatasetDetails``)."""
    columns = view.version.columns or {}
    names = list(columns.get("names", []))
    return {
        "datasetId": view.dataset.id,
        "versionId": view.version.id,
        "name": view.dataset.name,
        "categories": view.categories,
        "creationDate": format_datetime(view.dataset.created),
        "versionCreationDate": format_datetime(view.version.created),
        "createdBy": view.created_by,
        "dataPersisted": True,
        "isDataEngineEligible": False,
        "isLatestVersion": view.is_latest,
        "isSnapshot": True,
        "datasetSize": view.version.size,
        "rowCount": columns.get("rowCount"),
        "columnCount": len(names),
        "featureCount": len(names),
        "columns": names,
        "format": view.version.format,
        "processingState": "COMPLETED",
        "dataSourceType": _DATA_SOURCE_TYPE,
        "uri": view.file_name,
        "error": "",  # an upload that fails is refused, so no stored version has an error
        "lastModificationDate": format_datetime(view.last_modified),
        "lastModifierFullName": view.last_modifier,
    }


def _accepted(request: Request, view: DatasetView) -> Response:
    from scorecast.api.errors import AsciiJSONResponse

    status_url = request.url_for("get_dataset_status", status_id=view.dataset.id)
    body = {
        "catalogId": view.dataset.id,
        "catalogVersionId": view.version.id,
        "statusId": view.dataset.id,
    }
    return AsciiJSONResponse(body, status_code=202, headers={"Location": str(status_url)})


@router.post(
    "/datasets/fromFile/",
    status_code=202,
    name="create_dataset_from_file",
    dependencies=[form_fields()],
)
def create_dataset_from_file(
    *,
    request: Request,
    file: Upload,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    name: Annotated[str | None, Form(alias="datasetName")] = None,
    categories: Annotated[
        str | None,
        Form(description="TRAINING, PREDICTION, SAMPLE: one or more, comma-separated"),
    ] = None,
) -> Response:
    """Store an uploaded file as a new dataset (multipart field ``file``)."""
    view = datasets.create_dataset(
        session,
        caller,
        settings,
        stream=file.file,
        filename=file.filename,
        name=name,
        categories=categories,
    )
    return _accepted(request, view)


@router.post(
    "/datasets/{dataset_id}/versions/fromFile/",
    status_code=202,
    name="create_dataset_version",
    dependencies=[form_fields()],
)
def create_dataset_version(
    dataset_id: str,
    *,
    request: Request,
    file: Upload,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> Response:
    """Store an uploaded file as the new latest version of a dataset."""
    view = datasets.add_version(
        session, caller, settings, dataset_id, stream=file.file, filename=file.filename
    )
    return _accepted(request, view)


@router.get("/status/{status_id}/", status_code=303, name="get_dataset_status")
def get_dataset_status(
    status_id: str, request: Request, session: SessionDep, caller: CallerDep
) -> Response:
    """Uploads finish before their POST returns: the status is always a 303 to the dataset."""
    from scorecast.api.errors import AsciiJSONResponse

    view = datasets.get_dataset(session, caller, status_id)
    location = str(request.url_for("get_dataset", dataset_id=view.dataset.id))
    body = {"status": "COMPLETED", "statusId": status_id, "message": ""}
    return AsciiJSONResponse(body, status_code=303, headers={"Location": location})


@router.get("/datasets/", name="list_datasets", responses=PAGE_RESPONSE)
def list_datasets(
    *,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    category: Annotated[
        str | None,
        Query(description="only datasets of this category (TRAINING, PREDICTION, SAMPLE)"),
    ] = None,
    order_by: Annotated[
        str, Query(alias="orderBy", description="-created (newest first) or created")
    ] = "-created",
    filter_failed: Annotated[
        str | None,
        Query(alias="filterFailed", description="true or false: leave out failed uploads"),
    ] = None,
) -> dict[str, Any]:
    """The organization's datasets (latest versions), newest first unless ``orderBy=created``;
    ``category`` keeps those whose stored categories hold it.

    ``filterFailed`` changes nothing: a failed upload is refused and leaves no dataset.
    """
    limit = limit or DEFAULT_LIMIT
    filters = DatasetFilters(category=category, order_by=order_by, filter_failed=filter_failed)
    views, total = datasets.list_datasets(session, caller, filters, offset=offset, limit=limit)
    data = [dataset_to_wire(view) for view in views]
    return page_envelope(request, data, total=total, offset=offset, limit=limit)


@router.get("/datasets/{dataset_id}/", name="get_dataset")
def get_dataset(dataset_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    """A dataset with its latest version."""
    return dataset_to_wire(datasets.get_dataset(session, caller, dataset_id))


@router.patch("/datasets/{dataset_id}/", name="update_dataset")
def update_dataset(
    dataset_id: str, body: JsonObject, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """Change ``name`` and/or ``categories`` (``Dataset.modify``): the dataset with its latest
    version."""
    return dataset_to_wire(datasets.update_dataset(session, caller, dataset_id, body))


@router.get(
    "/datasets/{dataset_id}/versions/", name="list_dataset_versions", responses=PAGE_RESPONSE
)
def list_dataset_versions(
    dataset_id: str, request: Request, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """Every version of a dataset, newest first."""
    data = [dataset_to_wire(view) for view in datasets.list_versions(session, caller, dataset_id)]
    return page_envelope(request, data, total=len(data), offset=0, limit=max(len(data), 1))


@router.get("/datasets/{dataset_id}/versions/{version_id}/", name="get_dataset_version")
def get_dataset_version(
    dataset_id: str, version_id: str, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    return dataset_to_wire(datasets.get_dataset(session, caller, dataset_id, version_id))


@router.get("/datasets/{dataset_id}/file/", name="get_dataset_file")
def get_dataset_file(
    dataset_id: str,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> Response:
    """The latest version's file as uploaded (CSV or Parquet): ``Dataset.get_file``."""
    return _download(datasets.stored_file(session, caller, settings, dataset_id), request)


@router.get("/datasets/{dataset_id}/versions/{version_id}/file/", name="get_dataset_version_file")
def get_dataset_version_file(  # noqa: PLR0917 (FastAPI passes path and dependencies by name)
    dataset_id: str,
    version_id: str,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
) -> Response:
    """One version's file as uploaded (CSV or Parquet)."""
    return _download(
        datasets.stored_file(session, caller, settings, dataset_id, version_id), request
    )


def _download(stored: StoredFile, request: Request) -> Response:
    """The file (``FileResponse``, byte ranges included, when the storage is local), else
    streamed from the storage, named as ``FileResponse`` names files, with one byte range when
    ``Range`` asks for one (``api/byte_ranges.py``)."""
    if stored.path is not None:
        return FileResponse(
            stored.path,
            media_type=stored.media_type,
            filename=stored.filename,
            content_disposition_type="attachment",
        )
    assert stored.read is not None
    quoted = quote(stored.filename)
    disposition = (
        f"attachment; filename*=utf-8''{quoted}"
        if quoted != stored.filename
        else f'attachment; filename="{stored.filename}"'
    )
    headers = {"Content-Disposition": disposition, "Accept-Ranges": "bytes"}
    try:
        wanted = requested_range(request.headers.get("range"), stored.size)
    except Unsatisfiable:
        return error_response(
            416,
            f"the range {request.headers.get('range')!r} lies outside the file "
            f"({stored.size} bytes)",
            {"Range": f"must start before byte {stored.size}"},
            headers={"Content-Range": f"bytes */{stored.size}"},
        )
    if wanted is None:
        headers["Content-Length"] = str(stored.size)
        return StreamingResponse(
            stored.read(0, stored.size), media_type=stored.media_type, headers=headers
        )
    first, last = wanted
    headers["Content-Length"] = str(last - first + 1)
    headers["Content-Range"] = f"bytes {first}-{last}/{stored.size}"
    return StreamingResponse(
        stored.read(first, last - first + 1),
        status_code=206,
        media_type=stored.media_type,
        headers=headers,
    )


@router.delete("/datasets/{dataset_id}/", status_code=204, name="delete_dataset")
def delete_dataset(
    dataset_id: str, session: SessionDep, caller: CallerDep, settings: SettingsDep
) -> Response:
    """Delete a dataset with all its versions and files."""
    datasets.delete_dataset(session, caller, settings, dataset_id)
    return Response(status_code=204)
