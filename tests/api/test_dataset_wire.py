"""What the official client reads from ``datasets/``: the details of ``Dataset.get_details``,
the list's ``category``, ``orderBy`` and ``filterFailed``, and the categories and name that
``Dataset.modify`` (and ``create_from_file(categories=...)``) change with ``PATCH``."""

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


def test_create_from_file_with_categories_then_modify_with_the_official_client(
    live_server: LiveServer, tmp_path: Path
) -> None:
    dr.Client(endpoint=live_server.url, token=live_server.token)
    path = tmp_path / "train.csv"
    path.write_bytes(CSV)
    dataset = dr.Dataset.create_from_file(file_path=str(path), categories=["TRAINING", "SAMPLE"])
    assert dataset.categories == ["TRAINING", "SAMPLE"]

    dataset.modify(name="training rows")  # the client sends the categories it holds along
    assert (dataset.name, dataset.categories) == ("training rows", ["TRAINING", "SAMPLE"])
    stored = dr.Dataset.get(dataset.id)
    assert (stored.name, stored.categories) == ("training rows", ["TRAINING", "SAMPLE"])
    assert dr.DatasetDetails.get(dataset.id).categories == ["TRAINING", "SAMPLE"]

    plain = dr.Dataset.create_from_file(file_path=str(path))
    assert plain.categories == ["PREDICTION"]
    assert [d.id for d in dr.Dataset.list(category="TRAINING")] == [dataset.id]
    assert [d.id for d in dr.Dataset.list(category="SAMPLE")] == [dataset.id]
    assert [d.id for d in dr.Dataset.list(category="PREDICTION")] == [plain.id]

    dataset.modify(categories=["PREDICTION"])
    assert dataset.categories == ["PREDICTION"]
    assert [d.id for d in dr.Dataset.list(category="PREDICTION")] == [plain.id, dataset.id]
    assert dr.Dataset.list(category="TRAINING") == []


def test_patch_answers_the_dataset_and_changes_only_what_it_names(api_a: Api) -> None:
    dataset_id = _upload(api_a, "rows.csv")
    response = api_a.patch(f"datasets/{dataset_id}/", json={"categories": ["SAMPLE", "TRAINING"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["datasetId"], body["name"]) == (dataset_id, "rows.csv")
    assert body["categories"] == ["SAMPLE", "TRAINING"]

    body = api_a.patch(f"datasets/{dataset_id}/", json={"name": "  renamed  "}).json()
    assert (body["name"], body["categories"]) == ("renamed", ["SAMPLE", "TRAINING"])
    # null keeps the stored value, as DataRobot's PATCH does; a repeated category counts once
    body = api_a.patch(
        f"datasets/{dataset_id}/", json={"name": None, "categories": ["TRAINING", "TRAINING"]}
    ).json()
    assert (body["name"], body["categories"]) == ("renamed", ["TRAINING"])
    assert api_a.get(f"datasets/{dataset_id}/").json()["categories"] == ["TRAINING"]


def test_list_counts_and_pages_by_the_stored_categories(api_a: Api, api_b: Api) -> None:
    ids = [_upload(api_a, f"part{i}.csv") for i in range(4)]
    for dataset_id in ids[1:]:
        api_a.patch(f"datasets/{dataset_id}/", json={"categories": ["TRAINING", "PREDICTION"]})
    other = _upload(api_b, "other.csv")
    api_b.patch(f"datasets/{other}/", json={"categories": ["TRAINING"]})
    page = api_a.get(
        "datasets/", params={"orderBy": "created", "category": "TRAINING", "limit": 2}
    ).json()
    assert ([d["datasetId"] for d in page["data"]], page["totalCount"]) == (ids[1:3], 3)
    rest = httpx.get(page["next"], headers=dict(api_a.headers)).json()
    assert [d["datasetId"] for d in rest["data"]] == ids[3:]
    predicted = api_a.get("datasets/", params={"category": "PREDICTION"}).json()
    assert predicted["totalCount"] == 4
    assert api_a.get("datasets/", params={"category": "SAMPLE"}).json()["totalCount"] == 0


def test_patch_of_no_categories_clears_them_as_datarobot_does(api_a: Api) -> None:
    dataset_id = _upload(api_a, "rows.csv")
    answer = api_a.patch(f"datasets/{dataset_id}/", json={"categories": []})
    assert answer.status_code == 200, answer.text
    assert answer.json()["categories"] == []
    listed = api_a.get("datasets/", params={"category": "PREDICTION"}).json()
    assert dataset_id not in [d["datasetId"] for d in listed["data"]]


def test_patch_refuses_bad_values_with_422_naming_the_field(api_a: Api) -> None:
    dataset_id = _upload(api_a, "rows.csv")
    for body, field in [
        ({"categories": "TRAINING"}, "categories"),
        ({"categories": ["training"]}, "categories"),
        ({"categories": ["BATCH_PREDICTIONS"]}, "categories"),
        ({"categories": [1]}, "categories"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 7}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "description": "no"}, "description"),
        ({"datasetId": "other"}, "datasetId"),
    ]:
        response = api_a.patch(f"datasets/{dataset_id}/", json=body)
        error = assert_json_error(response, 422)
        assert list(error["errors"]) == [field], (body, error)
    assert_json_error(api_a.patch(f"datasets/{dataset_id}/", json=["TRAINING"]), 422)
    stored = api_a.get(f"datasets/{dataset_id}/").json()
    assert (stored["name"], stored["categories"]) == ("rows.csv", ["PREDICTION"])
    assert api_a.patch(f"datasets/{dataset_id}/", json={"name": "x" * 200}).status_code == 200


def test_patch_of_another_organizations_dataset_is_404(api_a: Api, api_b: Api) -> None:
    dataset_id = _upload(api_a, "rows.csv")
    for body in ({"name": "mine now"}, {"categories": ["TRAINING"]}):
        error = assert_json_error(api_b.patch(f"datasets/{dataset_id}/", json=body), 404)
        assert list(error["errors"]) == ["datasetId"]
    assert_json_error(api_a.patch("datasets/" + "0" * 24 + "/", json={"name": "x"}), 404)
    stored = api_a.get(f"datasets/{dataset_id}/").json()
    assert (stored["name"], stored["categories"]) == ("rows.csv", ["PREDICTION"])


def test_upload_takes_categories_as_a_form_field(api_a: Api) -> None:
    response = api_a.post(
        "datasets/fromFile/",
        files={"file": ("rows.csv", CSV)},
        data={"categories": "TRAINING, SAMPLE"},
    )
    assert response.status_code == 202, response.text
    dataset_id = response.json()["catalogId"]
    assert api_a.get(f"datasets/{dataset_id}/").json()["categories"] == ["TRAINING", "SAMPLE"]
    one = api_a.post(
        "datasets/fromFile/", files={"file": ("one.csv", CSV)}, data={"categories": "SAMPLE"}
    )
    assert one.status_code == 202, one.text
    assert api_a.get(f"datasets/{one.json()['catalogId']}/").json()["categories"] == ["SAMPLE"]
    for value in (" ", "training", "TRAINING,BATCH", "TRAINING,"):
        refused = api_a.post(
            "datasets/fromFile/", files={"file": ("bad.csv", CSV)}, data={"categories": value}
        )
        assert list(assert_json_error(refused, 422)["errors"]) == ["categories"], value
    listed = api_a.get("datasets/").json()
    assert listed["totalCount"] == 2  # a refused upload leaves no dataset
