"""notificationChannels/ and notificationPolicies/ through a real server: CRUD in DataRobot's
shape, the secret never returned, another organization's objects answered 404, bad input
answered 422 naming the field, private webhook hosts refused, deliveries and test deliveries."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    deployment_a_fixture,
)

from live_api import LiveServer

#: httpx with a deadline for a loaded machine (its default is 5 s)
http = SimpleNamespace(
    **{
        verb: partial(getattr(httpx, verb), timeout=120)
        for verb in ("get", "post", "patch", "delete")
    }
)
SECRET = "whsec-Very-Secret-Token"
HOOK = "https://hooks.example.com/scorecast"


def _post(
    live: LiveServer, path: str, body: dict[str, Any], token: str | None = None
) -> httpx.Response:
    return http.post(f"{live.url}/{path}", json=body, headers=live.headers(token))


def _webhook(live: LiveServer, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "ops hook",
        "channelType": "Webhook",
        "payloadUrl": HOOK,
        "secretToken": SECRET,
        **extra,
    }
    response = _post(live, "notificationChannels/", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_channel_crud_never_returns_the_secret(live_server: LiveServer) -> None:
    live = live_server
    created = _webhook(
        live, customHeaders=[{"name": "Authorization", "value": "Bearer hdr-Secret"}]
    )
    assert SECRET not in str(created) and "hdr-Secret" not in str(created)
    assert created["hasSecretToken"] is True and created["validateSsl"] is True
    assert created["customHeaders"] == [{"name": "Authorization"}]  # values are write-only
    assert created["policyCount"] == 0 and created["createdAt"].endswith("Z")
    one = f"{live.url}/notificationChannels/{created['id']}/"
    patched = http.patch(
        one,
        json={"name": "renamed", "validateSsl": False, "secretToken": None},
        headers=live.headers(),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "renamed" and patched.json()["hasSecretToken"] is False
    email = _post(
        live,
        "notificationChannels/",
        {"name": "mail", "channelType": "Email", "emailAddress": "ops@example.com"},
    )
    assert email.status_code == 201, email.text
    assert email.json()["emailAddresses"] == ["ops@example.com"]
    listing = http.get(f"{live.url}/notificationChannels/?namePart=RENAM", headers=live.headers())
    assert [item["id"] for item in listing.json()["data"]] == [created["id"]]
    assert listing.json()["totalCount"] == 1
    shown = http.get(one, headers=live.headers()).text
    assert SECRET not in shown and "hdr-Secret" not in shown
    assert http.delete(one, headers=live.headers()).status_code == 204
    assert http.get(one, headers=live.headers()).status_code == 404


def test_policy_crud(live_server: LiveServer) -> None:
    live = live_server
    channel = _webhook(live)
    created = _post(
        live,
        "notificationPolicies/",
        {
            "name": "failures",
            "channelId": channel["id"],
            "eventType": "batch_predictions.failed",
            "maximalFrequency": "pt1h",
        },
    )
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["active"] is True and policy["maximalFrequency"] == "PT1H"
    assert policy["relatedEntityId"] is None and policy["eventGroup"] is None
    one = f"{live.url}/notificationPolicies/{policy['id']}/"
    patched = http.patch(
        one,
        json={"eventGroup": "batch_predictions.scheduler.all", "active": False},
        headers=live.headers(),
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["eventType"], patched.json()["eventGroup"]) == (
        None,
        "batch_predictions.scheduler.all",
    )
    got = http.get(f"{live.url}/notificationChannels/{channel['id']}/", headers=live.headers())
    assert got.json()["policyCount"] == 1
    listing = http.get(
        f"{live.url}/notificationPolicies/?channelId={channel['id']}", headers=live.headers()
    )
    assert listing.json()["totalCount"] == 1
    assert http.delete(one, headers=live.headers()).status_code == 204
    assert http.get(one, headers=live.headers()).status_code == 404


def test_other_organizations_see_nothing(live_server: LiveServer) -> None:
    live = live_server
    channel = _webhook(live)
    policy = _post(
        live,
        "notificationPolicies/",
        {"name": "p", "channelId": channel["id"], "eventGroup": "batch_predictions.all"},
    ).json()
    bob = live.token_for("org-b", "bob")
    for path in (
        f"notificationChannels/{channel['id']}/",
        f"notificationPolicies/{policy['id']}/",
        f"notificationChannels/{channel['id']}/deliveries/",
    ):
        url = f"{live.url}/{path}"
        assert http.get(url, headers=live.headers(bob)).status_code == 404
    for path in (f"notificationChannels/{channel['id']}/", f"notificationPolicies/{policy['id']}/"):
        url = f"{live.url}/{path}"
        assert http.patch(url, json={"name": "x"}, headers=live.headers(bob)).status_code == 404
        assert http.delete(url, headers=live.headers(bob)).status_code == 404
    test = _post(live, f"notificationChannels/{channel['id']}/test/", {}, token=bob)
    assert test.status_code == 404
    # bob cannot aim a policy at alice's channel
    stolen = _post(
        live,
        "notificationPolicies/",
        {"name": "p", "channelId": channel["id"], "eventGroup": "batch_predictions.all"},
        token=bob,
    )
    assert stolen.status_code == 404 and stolen.json()["errors"] == {"channelId": "not found"}
    for path in ("notificationChannels/", "notificationPolicies/"):
        assert http.get(f"{live.url}/{path}", headers=live.headers(bob)).json()["totalCount"] == 0
    assert http.get(f"{live.url}/notificationChannels/").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "channelType": "Slack", "payloadUrl": HOOK}, "channelType"),
        ({"name": "x", "channelType": "Pager"}, "channelType"),
        ({"name": "x", "channelType": []}, "channelType"),
        ({"name": "x", "channelType": {}}, "channelType"),
        ({"name": "x", "channelType": 3}, "channelType"),
        (
            {"name": "x", "channelType": "Webhook", "payloadUrl": HOOK, "contentType": []},
            "contentType",
        ),
        ({"name": "x", "channelType": "Webhook", "payloadUrl": {}}, "payloadUrl"),
        ({"name": "x", "channelType": "Email", "emailAddress": []}, "emailAddress"),
        ({"name": "x", "channelType": "Email", "emailAddresses": [{}]}, "emailAddresses"),
        (
            {
                "name": "x",
                "channelType": "Webhook",
                "payloadUrl": HOOK,
                "customHeaders": [{"name": [], "value": {}}],
            },
            "customHeaders",
        ),
        (
            {"name": "x", "channelType": "Webhook", "payloadUrl": HOOK, "languageCode": []},
            "languageCode",
        ),
        ({"channelType": "Webhook", "payloadUrl": HOOK}, "name"),
        ({"name": "x", "channelType": "Webhook"}, "payloadUrl"),
        (
            {"name": "x", "channelType": "Webhook", "payloadUrl": "http://127.0.0.1:8080/"},
            "payloadUrl",
        ),
        ({"name": "x", "channelType": "Webhook", "payloadUrl": "http://10.0.0.7/"}, "payloadUrl"),
        ({"name": "x", "channelType": "Webhook", "payloadUrl": "ftp://example.com/"}, "payloadUrl"),
        (
            {
                "name": "x",
                "channelType": "Webhook",
                "payloadUrl": HOOK,
                "contentType": "application/x-www-form-urlencoded",
            },
            "contentType",
        ),
        (
            {
                "name": "x",
                "channelType": "Webhook",
                "payloadUrl": HOOK,
                "customHeaders": [{"name": "webhook-id", "value": "x"}],
            },
            "customHeaders",
        ),
        (
            {
                "name": "x",
                "channelType": "Webhook",
                "payloadUrl": HOOK,
                "customHeaders": [{"name": "X-A", "value": "a\r\nb"}],
            },
            "customHeaders",
        ),
        (
            {"name": "x", "channelType": "Webhook", "payloadUrl": HOOK, "validateSsl": "no"},
            "validateSsl",
        ),
        ({"name": "x", "channelType": "Email"}, "emailAddress"),
        ({"name": "x", "channelType": "Email", "emailAddress": "not an address"}, "emailAddress"),
        (
            {
                "name": "x",
                "channelType": "Email",
                "emailAddress": "a@example.com",
                "payloadUrl": HOOK,
            },
            "payloadUrl",
        ),
        (  # stored and ignored before: an email has no content type or certificate check
            {"name": "x", "channelType": "Email", "emailAddress": "a@b.com", "validateSsl": "junk"},
            "validateSsl",
        ),
        (
            {"name": "x", "channelType": "Email", "emailAddress": "a@b.com", "contentType": "x"},
            "contentType",
        ),
        ({"name": "x", "channelType": "Webhook", "payloadUrl": HOOK, "colour": "red"}, "colour"),
        # header values HTTP cannot carry (each used to stop every delivery of the server)
        *(
            (
                {
                    "name": "x",
                    "channelType": "Webhook",
                    "payloadUrl": HOOK,
                    "customHeaders": [{"name": "X-Team", "value": value}],
                },
                "customHeaders",
            )
            for value in ("Zürich", "a\x0bb", "a\x7fb", "a\u2028b", "a\x85b", "€")
        ),
        # addresses with a line break str.splitlines knows, or another control character
        *(
            (
                {"name": "x", "channelType": "Email", "emailAddress": f"ops{char}x@example.com"},
                "emailAddress",
            )
            for char in ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x07")
        ),
        (
            {
                "name": "x",
                "channelType": "Email",
                "emailAddresses": ["a@b.com", "ops@example.com\x0b"],
            },
            "emailAddresses",
        ),
        # a whsec_ secret must decode to a key of 24 bytes or more
        *(
            (
                {"name": "x", "channelType": "Webhook", "payloadUrl": HOOK, "secretToken": token},
                "secretToken",
            )
            for token in (
                "whsec_",
                "whsec_====",
                "whsec_c2hvcnQ=",
                "whsec_not-base64!",
                "whsec_" + "é" * 40,
            )
        ),
        (
            {"name": "x", "channelType": "Webhook", "payloadUrl": "https://hooks.example.com:0/h"},
            "payloadUrl",
        ),
    ],
)
def test_bad_channels_are_422_naming_the_field(
    shared_live_server: LiveServer, body: dict[str, Any], field: str
) -> None:
    response = _post(shared_live_server, "notificationChannels/", body)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"eventType": "batch_predictions.nope"}, "eventType"),
        ({}, "eventType"),
        (
            {"eventType": "batch_predictions.failed", "eventGroup": "batch_predictions.all"},
            "eventType",
        ),
        ({"eventGroup": "everything"}, "eventGroup"),
        ({"eventType": []}, "eventType"),
        ({"eventType": {}}, "eventType"),
        ({"eventGroup": []}, "eventGroup"),
        ({"eventGroup": {}}, "eventGroup"),
        ({"channelId": [], "eventType": "batch_predictions.failed"}, "channelId"),
        (
            {"eventType": "batch_predictions.failed", "relatedEntityType": {}},
            "relatedEntityType",
        ),
        ({"eventType": "batch_predictions.failed", "relatedEntityId": []}, "relatedEntityId"),
        ({"eventType": "batch_predictions.failed", "maximalFrequency": []}, "maximalFrequency"),
        (
            {"eventType": "batch_predictions.failed", "maximalFrequency": "P1000000000D"},
            "maximalFrequency",
        ),
        (
            {"eventType": "batch_predictions.failed", "maximalFrequency": "PT" + "9" * 20 + "S"},
            "maximalFrequency",
        ),
        (
            {"eventType": "batch_predictions.failed", "maximalFrequency": "P" + "9" * 5000 + "D"},
            "maximalFrequency",
        ),
        (
            {"eventType": "batch_predictions.failed", "maximalFrequency": "P\u0663D"},
            "maximalFrequency",
        ),
        (
            {"eventType": "batch_predictions.failed", "maximalFrequency": "hourly"},
            "maximalFrequency",
        ),
        ({"eventType": "batch_predictions.failed", "active": "yes"}, "active"),
        (
            {
                "eventType": "batch_predictions.failed",
                "relatedEntityType": "deployment",
                "relatedEntityId": "0" * 24,
            },
            "relatedEntityType",
        ),
    ],
)
def test_bad_policies_are_422_naming_the_field(
    shared_live_server: LiveServer, body: dict[str, Any], field: str
) -> None:
    channel = _webhook(shared_live_server)
    response = _post(
        shared_live_server,
        "notificationPolicies/",
        {"name": "p", "channelId": channel["id"], **body},
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"eventType": []}, "eventType", "must be a string"),
        ({"eventGroup": {}}, "eventGroup", "must be a string"),
        ({"relatedEntityId": {}}, "relatedEntityId", "must be a string"),
        ({"maximalFrequency": "P1000000000D"}, "maximalFrequency", "at most a year (P366D)"),
        ({"maximalFrequency": "PT" + "9" * 20 + "S"}, "maximalFrequency", "at most a year"),
        ({"maximalFrequency": "P" + "9" * 5000 + "D"}, "maximalFrequency", "at most a year"),
    ],
)
def test_bad_policy_patches_are_422_naming_the_field(
    shared_live_server: LiveServer, body: dict[str, Any], field: str, problem: str
) -> None:
    channel = _webhook(shared_live_server)
    created = _post(
        shared_live_server,
        "notificationPolicies/",
        {"name": "p", "channelId": channel["id"], "eventType": "batch_predictions.failed"},
    )
    assert created.status_code == 201, created.text
    one = f"{shared_live_server.url}/notificationPolicies/{created.json()['id']}/"
    response = http.patch(one, json=body, headers=shared_live_server.headers())
    assert response.status_code == 422, response.text
    assert problem in response.json()["errors"][field]
    assert "set_int_max_str_digits" not in response.text


@pytest.mark.parametrize("value", [[], {}, 3])
def test_a_non_string_channel_type_patch_is_422(
    shared_live_server: LiveServer, value: object
) -> None:
    channel = _webhook(shared_live_server)
    one = f"{shared_live_server.url}/notificationChannels/{channel['id']}/"
    response = http.patch(one, json={"channelType": value}, headers=shared_live_server.headers())
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == {"channelType": "must be a string"}


def test_non_string_channel_types_are_422_saying_so(shared_live_server: LiveServer) -> None:
    for value in ([], {}, ["Slack"]):
        response = _post(
            shared_live_server, "notificationChannels/", {"name": "c", "channelType": value}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == {"channelType": "must be a string"}


def test_a_policys_definition_is_kept_unless_changed(api_a: Api, deployment_a: str) -> None:
    """A PATCH naming only ``relatedEntityType`` keeps the policy's definition (it cleared it,
    widening the policy to every definition); the type without a definition is refused on
    create; ``null`` for both is the way to cover every definition."""
    definition = api_a.post(
        "batchPredictionJobDefinitions/",
        json={
            "deploymentId": deployment_a,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
            "enabled": False,
        },
    )
    assert definition.status_code == 202, definition.text
    channel = api_a.post(
        "notificationChannels/",
        json={"name": "hook", "channelType": "Webhook", "payloadUrl": HOOK},
    )
    assert channel.status_code == 201, channel.text
    scope = {"relatedEntityType": "batchPredictionJobDefinition"}
    base = {"name": "p", "channelId": channel.json()["id"], "eventType": "batch_predictions.failed"}
    typed_only = api_a.post("notificationPolicies/", json={**base, **scope})
    assert typed_only.status_code == 422, typed_only.text
    assert "relatedEntityId" in typed_only.json()["errors"]
    created = api_a.post(
        "notificationPolicies/",
        json={**base, **scope, "relatedEntityId": definition.json()["id"]},
    )
    assert created.status_code == 201, created.text
    one = f"notificationPolicies/{created.json()['id']}/"
    kept = api_a.patch(one, json=scope)
    assert kept.status_code == 200, kept.text
    assert kept.json()["relatedEntityId"] == definition.json()["id"]
    widened = api_a.patch(one, json={"relatedEntityType": None, "relatedEntityId": None})
    assert widened.status_code == 200, widened.text
    assert widened.json()["relatedEntityId"] is None


def test_unknown_references_are_404(live_server: LiveServer) -> None:
    channel = _webhook(live_server)
    unknown_definition = _post(
        live_server,
        "notificationPolicies/",
        {
            "name": "p",
            "channelId": channel["id"],
            "eventType": "batch_predictions.failed",
            "relatedEntityType": "batchPredictionJobDefinition",
            "relatedEntityId": "f" * 24,
        },
    )
    assert unknown_definition.status_code == 404
    assert unknown_definition.json()["errors"] == {"relatedEntityId": "not found"}
    unknown_channel = _post(
        live_server,
        "notificationPolicies/",
        {"name": "p", "channelId": "f" * 24, "eventType": "batch_predictions.failed"},
    )
    assert unknown_channel.status_code == 404


def test_a_test_delivery_is_queued_and_listed(live_server: LiveServer) -> None:
    live = live_server
    channel = _webhook(live)
    queued = _post(live, f"notificationChannels/{channel['id']}/test/", {})
    assert queued.status_code == 202, queued.text
    delivery = queued.json()
    assert delivery["status"] == "pending" and delivery["event"] == "notifications.test"
    assert delivery["id"].startswith("msg_") and delivery["attempts"] == []
    listing = http.get(
        f"{live.url}/notificationChannels/{channel['id']}/deliveries/", headers=live.headers()
    )
    assert listing.status_code == 200
    assert [item["id"] for item in listing.json()["data"]] == [delivery["id"]]
    bad = http.get(
        f"{live.url}/notificationChannels/{channel['id']}/deliveries/?status=lost",
        headers=live.headers(),
    )
    assert bad.status_code == 422 and "status" in bad.json()["errors"]


def test_values_http_and_signing_can_use_are_taken(live_server: LiveServer) -> None:
    """Header values of visible ASCII with spaces and tabs inside, a 24-byte ``whsec_`` key
    and a secret without the prefix (used as its UTF-8 bytes) are all accepted."""
    created = _webhook(
        live_server,
        secretToken="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        customHeaders=[{"name": "X-Team", "value": " Bearer a\tb ~!{} "}],
    )
    assert created["customHeaders"] == [{"name": "X-Team"}] and created["hasSecretToken"]
    assert _webhook(live_server, name="plain", secretToken="s3cret")["hasSecretToken"]
