"""A creation form the service refuses is shown again with what was typed (never a secret),
and Enable or Disable on a page of a search comes back to that page."""

from __future__ import annotations

import re

import httpx
import pytest
from console_client import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Console,
    console_fixture,
    console_settings_fixture,
    csrf_in,
)

from scorecast.demo import MODEL
from scorecast.web.objects import shown_address
from scorecast.web.present import Pager

SECRET = "S3CRET-VALUE"


def _value(page: str, field: str) -> str:
    found = re.search(rf'name="{field}"[^>]*value="([^"]*)"', page)
    assert found is not None, field
    return found.group(1)


def _create(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    return client.post(path, data={"csrf": csrf_in(client.get(path).text), **data})


def test_a_refused_credential_keeps_its_name_type_and_description_not_its_secrets(
    console: Console,
) -> None:
    alice = console.signed_in()
    typed = {
        "name": "warehouse key",
        "credentialType": "gcp",
        "description": "the nightly export's",
        "gcpKey": SECRET + "{not json",
        "password": SECRET,
        "user": SECRET,
    }
    refused = _create(alice, "/credentials", typed)
    assert refused.status_code == 422
    assert SECRET not in refused.text
    assert 'class="notice error" role="alert">gcpKey' in refused.text
    assert _value(refused.text, "name") == "warehouse key"
    assert _value(refused.text, "description") == "the nightly export&#39;s"
    assert '<option value="gcp" selected>' in refused.text


def test_a_refused_data_store_keeps_its_name_and_an_address_without_a_password(
    console: Console,
) -> None:
    alice = console.signed_in()
    unsupported = "jdbc:oracle://db.example.com:1521/orders"
    refused = _create(alice, "/data-stores", {"canonicalName": "orders", "jdbcUrl": unsupported})
    assert refused.status_code == 422 and 'class="notice error"' in refused.text
    assert _value(refused.text, "canonicalName") == "orders"
    assert _value(refused.text, "jdbcUrl") == unsupported
    with_password = f"jdbc:postgresql://app:{SECRET}@db.example.com/orders"
    refused = _create(alice, "/data-stores", {"canonicalName": "orders", "jdbcUrl": with_password})
    assert refused.status_code == 422 and SECRET not in refused.text
    assert _value(refused.text, "canonicalName") == "orders"
    assert _value(refused.text, "jdbcUrl") == ""


@pytest.mark.parametrize(
    "typed",
    [
        "jdbc:postgresql://app:pw@db.example.com/orders",
        "jdbc:postgresql://db.example.com/orders?password=pw",
        "jdbc:postgresql://db.example.com/orders?pass%77ord=pw",
        "jdbc:sqlserver://db.example.com;databaseName=x;Password=pw",
        "jdbc:mysql://db.example.com/orders?user=app&sslmode=require",
        "jdbc:postgresql://db.example.com/orders?options=-c%20password=pw",
    ],
)
def test_an_address_with_a_user_or_password_is_not_shown_again(typed: str) -> None:
    assert shown_address(typed) == ""
    assert shown_address("jdbc:postgresql://db.example.com/orders?sslmode=require") != ""


def test_a_refused_model_upload_keeps_its_fields(console: Console) -> None:
    alice = console.signed_in()
    csrf = csrf_in(alice.get("/deployments").text)
    typed = {
        "csrf": csrf,
        "targetName": "readmitted",
        "targetType": "regression",
        "label": "readmission v2",
        "featureNames": "age,visits",
        "predictionRange": "high,low",
    }
    files = {"file": ("model.onnx", MODEL.read_bytes(), "application/octet-stream")}
    refused = alice.post("/deployments/upload", data=typed, files=files)
    assert refused.status_code == 422 and 'class="notice error"' in refused.text
    for field in ("targetName", "label", "featureNames", "predictionRange"):
        assert _value(refused.text, field) == typed[field], field
    assert '<option value="regression" selected>' in refused.text


def test_enable_on_a_page_of_a_search_comes_back_to_it(console: Console) -> None:
    assert Pager(50, 50, 120, {"q": "demo"}).here("/definitions") == "/definitions?q=demo&offset=50"
    assert Pager(0, 50, 1, {"q": ""}).here("/definitions") == "/definitions"
    alice = console.signed_in()
    page = alice.get("/definitions", params={"q": "demo"}).text
    assert 'name="back" value="/definitions?q=demo"' in page
    answer = alice.post(
        f"/definitions/{console.definition_id}/enabled",
        data={"csrf": csrf_in(page), "enabled": "true", "back": "/definitions?q=demo&offset=0"},
    )
    location = answer.headers["location"]
    assert location.startswith("/definitions?q=demo&offset=0&message="), location
    assert "Enabled." in alice.get(location).text
