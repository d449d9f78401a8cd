"""What the official client reads from ``datasets/``: the details of ``Dataset.get_details``
and the list's ``category``, ``orderBy`` and ``filterFailed``."""

from __future__ import annotations

from pathlib import Path

import datarobot as dr
import dateutil.parser
import httpx
from api_helpers import Api, api_a_fixture, api_b_fixture, assert_json_error

from live_api import LiveServer
from scorecast.service.accounts import create_token
from scorecast.store.db import session_scope

__all__ = ["api_a_fixture", "api_b_fixture"]

CSV = b"num_a,num_b\n1,2\n3,4\n"


def _upload(api: Api, name: str, content: bytes = CSV) -> str:
    response = api.post("datasets/fromFile/", files={"file": (name, content)})
    assert response.status_code == 202, response.text
    dataset_id: str = response.json()["catalogId"]
    return dataset_id


def test_get_details_with_the_official_client(live_server: LiveServer, tmp_path: Path) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    path = tmp_path / "rows.csv"
    path.write_bytes(CSV)
    dataset = dr.Dataset.create_from_file(file_path=str(path))

    details = dataset.get_details()
    assert details.dataset_id == dataset.id
    assert (details.data_source_type, details.error, details.uri) == ("file", "", "rows.csv")
    assert details.last_modifier_full_name == "alice"  # no full name: the username
    assert details.last_modification_date >= details.created_at
    assert (details.categories, details.feature_count, details.row_count) == (
        ["PREDICTION"],
        2,
        2,
    )
    assert details.processing_state == "COMPLETED"
    assert dr.DatasetDetails.get(dataset.id).version_id == dataset.version_id

    newer = dr.Dataset.create_version_from_file(dataset.id, file_path=str(path))
    details = dr.DatasetDetails.get(dataset.id)
    assert details.version_id == newer.version_id
    wire = httpx.get(
        f"{live_server.url}/datasets/{dataset.id}/versions/{dataset.version_id}/",
        headers=live_server.headers(),
    ).json()
    assert wire["isLatestVersion"] is False
    # the dataset last changed when its newest version was uploaded, whichever version is shown
    assert dateutil.parser.parse(wire["lastModificationDate"]) == details.last_modification_date
    assert details.last_modification_date == dateutil.parser.parse(
        httpx.get(
            f"{live_server.url}/datasets/{dataset.id}/", headers=live_server.headers()
        ).json()["versionCreationDate"]
    )


def test_details_name_the_full_name_and_the_file(live_server: LiveServer) -> None:
    with session_scope(live_server.engine) as session:
        token = create_token(session, "org-a", "carol", full_name="Carol Smith")
    carol = Api(live_server, token)
    try:
        dataset_id = _upload(carol, "scores")  # a name without the format's extension
        body = carol.get(f"datasets/{dataset_id}/").json()
    finally:
        carol.http.close()
    assert (body["lastModifierFullName"], body["createdBy"]) == ("Carol Smith", "carol")
    assert (body["uri"], body["dataSourceType"], body["error"]) == ("scores.csv", "file", "")
    listed = httpx.get(f"{live_server.url}/datasets/", headers=live_server.headers()).json()
    assert [d["lastModifierFullName"] for d in listed["data"]] == ["Carol Smith"]


def test_list_filters_by_category_with_the_official_client(
    live_server: LiveServer, api_a: Api, api_b: Api
) -> None:
    first = _upload(api_a, "first.csv")
    second = _upload(api_a, "second.csv")
    _upload(api_b, "other.csv")
    dr.Client(endpoint=live_server.url, token=live_server.token)
    assert dr.Dataset.list(category="TRAINING") == []
    assert dr.Dataset.list(category="SAMPLE") == []
    assert [d.id for d in dr.Dataset.list(category="PREDICTION")] == [second, first]
    for filter_failed in (True, False):
        assert [d.id for d in dr.Dataset.list(filter_failed=filter_failed)] == [second, first]
    assert [d.id for d in dr.Dataset.list(order_by="created")] == [first, second]
    assert [d.id for d in dr.Dataset.list(order_by="-created")] == [second, first]
    training = api_a.get("datasets/", params={"category": "TRAINING"}).json()
    assert (training["data"], training["totalCount"]) == ([], 0)


def test_list_pages_keep_the_order_and_filter(api_a: Api) -> None:
    ids = [_upload(api_a, f"part{i}.csv") for i in range(3)]
    page = api_a.get(
        "datasets/", params={"orderBy": "created", "category": "PREDICTION", "limit": 2}
    ).json()
    assert [d["datasetId"] for d in page["data"]] == ids[:2]
    assert page["totalCount"] == 3
    rest = httpx.get(page["next"], headers=dict(api_a.headers)).json()
    assert [d["datasetId"] for d in rest["data"]] == ids[2:]


def test_unknown_list_values_are_422_naming_the_field(api_a: Api) -> None:
    _upload(api_a, "rows.csv")
    for field, value in [
        ("category", "training"),
        ("category", "BATCH"),
        ("orderBy", "name"),
        ("orderBy", ""),
        ("filterFailed", "maybe"),
        ("filterFailed", "1"),
    ]:
        body = assert_json_error(api_a.get("datasets/", params={field: value}), 422)
        assert list(body["errors"]) == [field], (field, value, body)
