"""List filters and orders the official client (3.20) relies on, on SQLite and PostgreSQL:
``DataStore.list`` (one unpaginated request, ``name``), ``batchPredictions/``'s date filters,
``credentials/``'s ``types`` and ``orderBy``, ``Deployment.list(order_by=...)``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import datarobot as dr
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    api_b_fixture,
    assert_json_error,
    deployment_a_fixture,
    seed_deployment,
)

from live_api import LiveServer
from scorecast.store.db import session_scope
from scorecast.store.models import DataStore, Organization, User

STORES = "externalDataStores/"
JOBS = "batchPredictions/"
CREDENTIALS = "credentials/"
DEPLOYMENTS = "deployments/"
JDBC_URL = "jdbc:postgresql://db.example.com:5432/sales"


def _seed_data_stores(live_server: LiveServer, org_name: str, count: int) -> list[str]:
    """``count`` data stores of ``org_name`` as store rows, oldest first, a second apart."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with session_scope(live_server.engine) as session:
        org = session.query(Organization).filter_by(name=org_name).one()
        user = session.query(User).filter_by(org_id=org.id).first()
        assert user is not None
        stores = [
            DataStore(
                org_id=org.id,
                type="jdbc",
                canonical_name=f"store {index:03d}",
                params={"jdbcUrl": JDBC_URL},
                created_by=user.id,
                created=start + timedelta(seconds=index),
                updated=start + timedelta(seconds=index),
            )
            for index in range(count)
        ]
        session.add_all(stores)
        session.flush()
        return [store.id for store in stores]


def _create_store(api: Api, name: str) -> str:
    body = {"type": "jdbc", "canonicalName": name, "params": {"jdbcUrl": JDBC_URL}}
    response = api.post(STORES, json=body)
    assert response.status_code == 201, response.text
    store_id: str = response.json()["id"]
    return store_id


# --- data stores -----------------------------------------------------------------------------


def test_data_store_list_reads_every_store_in_one_request(
    live_server: LiveServer, api_a: Api, api_b: Api
) -> None:
    """``DataStore.list()`` reads only the first page (reference §14): without ``limit`` the
    first page holds every store of the organization."""
    assert api_b.get(STORES).status_code == 200  # org-b exists
    ids = _seed_data_stores(live_server, "org-a", 105)
    _seed_data_stores(live_server, "org-b", 2)
    dr.Client(endpoint=live_server.url, token=live_server.token)
    assert [store.id for store in dr.DataStore.list()] == ids[::-1]

    everything = api_a.get(STORES).json()
    assert (everything["count"], everything["totalCount"]) == (105, 105)
    assert everything["next"] is None and everything["previous"] is None
    rest = api_a.get(STORES, params={"offset": 100}).json()
    assert [store["id"] for store in rest["data"]] == ids[4::-1]
    assert (rest["totalCount"], rest["next"]) == (105, None)
    assert rest["previous"] is not None

    # with a limit, the list pages as the others do
    page = api_a.get(STORES, params={"limit": 50}).json()
    assert (page["count"], page["totalCount"]) == (50, 105)
    seen = [store["id"] for store in page["data"]]
    while page["next"] is not None:
        assert parse_qs(urlsplit(page["next"]).query)["limit"] == ["50"]
        page = api_a.get(page["next"]).json()
        assert page["totalCount"] == 105
        seen += [store["id"] for store in page["data"]]
    assert seen == ids[::-1]


def test_data_store_list_filters_by_a_part_of_the_name_ignoring_case(
    live_server: LiveServer, api_a: Api, api_b: Api
) -> None:
    sales = _create_store(api_a, "Sales DB")
    archive = _create_store(api_a, "old sales archive")
    _create_store(api_a, "HR")
    _create_store(api_a, "50% off_sales")
    _create_store(api_b, "Sales of org-b")
    dr.Client(endpoint=live_server.url, token=live_server.token)
    found = {store.id for store in dr.DataStore.list(name="SALES")}
    assert sales in found and archive in found and len(found) == 3
    assert [store.id for store in dr.DataStore.list(name="sales d")] == [sales]
    # LIKE's wildcards are plain characters here
    assert [store.canonical_name for store in dr.DataStore.list(name="%")] == ["50% off_sales"]
    assert [store.canonical_name for store in dr.DataStore.list(name="f_s")] == ["50% off_sales"]
    assert dr.DataStore.list(name="s_d") == []
    assert dr.DataStore.list(name="nothing like it") == []
    # with a type and a page size, the next link keeps the filter
    paged = api_a.get(STORES, params={"name": "sales", "type": "jdbc", "limit": 1}).json()
    assert (paged["count"], paged["totalCount"]) == (1, 3)
    assert parse_qs(urlsplit(paged["next"]).query)["name"] == ["sales"]


# --- batch prediction jobs: dates ------------------------------------------------------------


def _submit(api: Api, deployment_id: str) -> dict[str, Any]:
    body = {
        "deploymentId": deployment_id,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }
    response = api.post(JOBS, json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def _job_ids(api: Api, **params: Any) -> list[str]:
    response = api.get(JOBS, params=params)
    assert response.status_code == 200, response.text
    return [job["id"] for job in response.json()["data"]]


def test_end_date_time_includes_a_job_added_at_that_time(api_a: Api, deployment_a: str) -> None:
    first = _submit(api_a, deployment_a)
    second = _submit(api_a, deployment_a)
    assert _job_ids(api_a, endDateTime=first["created"]) == [first["id"]]
    assert _job_ids(api_a, endDateTime=second["created"]) == [second["id"], first["id"]]
    exactly = {"startDateTime": second["created"], "endDateTime": second["created"]}
    assert _job_ids(api_a, **exactly) == [second["id"]]


def test_start_date_time_wins_over_cutoff_hours(api_a: Api, deployment_a: str) -> None:
    job = _submit(api_a, deployment_a)
    # cutoffHours=0 alone: only jobs added from now on
    assert _job_ids(api_a, cutoffHours=0) == []
    assert _job_ids(api_a, cutoffHours=0, startDateTime=job["created"]) == [job["id"]]
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert _job_ids(api_a, cutoffHours=48, startDateTime=later) == []


# --- credentials -----------------------------------------------------------------------------


def _credential(api: Api, name: str, credential_type: str) -> str:
    fields = {
        "basic": {"user": "u", "password": "p"},
        "s3": {"awsAccessKeyId": "AK", "awsSecretAccessKey": "SK"},
        "azure": {"azureConnectionString": "DefaultEndpointsProtocol=https;AccountName=x"},
    }[credential_type]
    body = {"name": name, "credentialType": credential_type, **fields}
    response = api.post(CREDENTIALS, json=body)
    assert response.status_code == 201, response.text
    credential_id: str = response.json()["credentialId"]
    return credential_id


def _credential_ids(api: Api, params: Any) -> list[str]:
    """Every page of ``credentials/`` with ``params``, following ``next`` as the client does."""
    response = api.get(CREDENTIALS, params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    ids = [item["credentialId"] for item in page["data"]]
    while page["next"] is not None:
        page = api.get(page["next"]).json()
        ids += [item["credentialId"] for item in page["data"]]
    return ids


def test_credentials_filter_by_types_repeated_or_comma_separated(api_a: Api) -> None:
    basic_1 = _credential(api_a, "b1", "basic")
    s3 = _credential(api_a, "s", "s3")
    basic_2 = _credential(api_a, "b2", "basic")
    azure = _credential(api_a, "az", "azure")
    assert _credential_ids(api_a, {"types": "basic"}) == [basic_2, basic_1]
    both = [basic_2, s3, basic_1]
    assert _credential_ids(api_a, [("types", "basic"), ("types", "s3")]) == both
    assert _credential_ids(api_a, {"types": "s3,basic"}) == both
    assert _credential_ids(api_a, {"types": "basic", "limit": 1}) == [basic_2, basic_1]
    # a DataRobot type this server does not store: no credential has it
    assert _credential_ids(api_a, {"types": "oauth"}) == []
    assert _credential_ids(api_a, {"types": "azure"}) == [azure]
    for bad in ("BASIC", "nope", "basic,,s3"):
        refused = api_a.get(CREDENTIALS, params={"types": bad})
        assert "types" in assert_json_error(refused, 422)["errors"], bad


def test_credentials_order_by_creation_date(api_a: Api) -> None:
    ids = [_credential(api_a, f"c{index}", "basic") for index in range(3)]
    assert _credential_ids(api_a, {}) == ids[::-1]
    assert _credential_ids(api_a, {"orderBy": "creationDate"}) == ids
    assert _credential_ids(api_a, {"orderBy": "creationDate", "limit": 2}) == ids
    assert _credential_ids(api_a, {"orderBy": "-creationDate"}) == ids[::-1]
    for bad in ("name", "created", ""):
        refused = api_a.get(CREDENTIALS, params={"orderBy": bad})
        assert "orderBy" in assert_json_error(refused, 422)["errors"], bad


# --- deployments -----------------------------------------------------------------------------


def _labelled_deployment(live_server: LiveServer, api: Api, label: str) -> str:
    deployment_id = seed_deployment(live_server, "org-a")
    response = api.patch(f"{DEPLOYMENTS}{deployment_id}/", json={"label": label})
    assert response.status_code == 200, response.text
    return deployment_id


def test_deployment_list_orders_by_label_both_ways(live_server: LiveServer, api_a: Api) -> None:
    beta = _labelled_deployment(live_server, api_a, "beta")
    alpha = _labelled_deployment(live_server, api_a, "Alpha")
    gamma = _labelled_deployment(live_server, api_a, "gamma")
    delta = _labelled_deployment(live_server, api_a, "Delta")
    dr.Client(endpoint=live_server.url, token=live_server.token)
    ascending = [alpha, beta, delta, gamma]  # ignoring case
    assert [d.id for d in dr.Deployment.list(order_by="label")] == ascending
    assert [d.id for d in dr.Deployment.list(order_by="-label")] == ascending[::-1]
    paged = api_a.get(DEPLOYMENTS, params={"orderBy": "-label", "limit": 2}).json()
    assert [d["id"] for d in paged["data"]] == [gamma, delta]
    assert parse_qs(urlsplit(paged["next"]).query)["orderBy"] == ["-label"]
    # without orderBy: newest first, as before
    assert [d.id for d in dr.Deployment.list()] == [delta, gamma, alpha, beta]


def test_deployment_list_orders_by_last_prediction(live_server: LiveServer, api_a: Api) -> None:
    unused = _labelled_deployment(live_server, api_a, "unused")
    early = _labelled_deployment(live_server, api_a, "early")
    late = _labelled_deployment(live_server, api_a, "late")
    _submit(api_a, late)
    _submit(api_a, early)
    _submit(api_a, late)
    dr.Client(endpoint=live_server.url, token=live_server.token)
    newest = dr.Deployment.list(order_by="-lastPredictionTimestamp")
    assert [d.id for d in newest] == [late, early, unused]
    oldest = dr.Deployment.list(order_by="lastPredictionTimestamp")
    assert [d.id for d in oldest] == [unused, early, late]


def test_deployment_list_refuses_other_orders_naming_order_by(api_a: Api) -> None:
    for order_by in ("labels", "created", "-", "", "serviceHealth", "-recentPredictions"):
        refused = api_a.get(DEPLOYMENTS, params={"orderBy": order_by})
        assert "orderBy" in assert_json_error(refused, 422)["errors"], order_by
