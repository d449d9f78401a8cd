"""Notifications end to end: a real ``scorecast serve`` sends signed webhooks to a receiver on
127.0.0.1 (private endpoints allowed) for a definition's successful and failed runs, retries
the delivery the receiver answered 500, emails the failure through a real SMTP server
(aiosmtpd), and a delivery queued while no sender ran is sent after a restart (deliveries are
stored, not held in memory)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from job_streams import wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model

from notification_receivers import smtp_receiver, webhook_receiver

pytestmark = pytest.mark.e2e

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ENDED = ("COMPLETED", "ABORTED")


def _env(root: Path) -> dict[str, str]:
    return {
        "SCORECAST_ALLOW_PRIVATE_ENDPOINTS": "1",
        "SCORECAST_FILE_ROOTS": str(root),
        "SCORECAST_NOTIFICATION_RETRY_SECONDS": "1",
    }


def _definition(
    server: ServeProcess, deployment: str, name: str, source: Path, target: Path
) -> str:
    with server.http() as http:
        response = http.post(
            "batchPredictionJobDefinitions/",
            json={
                "name": name,
                "deploymentId": deployment,
                "intakeSettings": {"type": "filesystem", "url": source.as_uri()},
                "outputSettings": {"type": "filesystem", "url": target.as_uri()},
            },
        )
    assert response.status_code == 202, response.text
    definition_id: str = response.json()["id"]
    return definition_id


def _run(server: ServeProcess, definition_id: str) -> dict[str, Any]:
    with server.http() as http:
        created = http.post(
            "batchPredictions/fromJobDefinition/", json={"jobDefinitionId": definition_id}
        )
        assert created.status_code == 202, created.text
        return wait_for_job(http, created.json()["id"], lambda job: job["status"] in ENDED)


def _subscribe(server: ServeProcess, url: str) -> str:
    with server.http() as http:
        channel = http.post(
            "notificationChannels/",
            json={
                "name": "hook",
                "channelType": "Webhook",
                "payloadUrl": url,
                "secretToken": SECRET,
            },
        )
        assert channel.status_code == 201, channel.text
        channel_id: str = channel.json()["id"]
        for event in ("batch_predictions.success", "batch_predictions.failed"):
            policy = http.post(
                "notificationPolicies/",
                json={"name": event, "channelId": channel_id, "eventType": event},
            )
            assert policy.status_code == 201, policy.text
    return channel_id


def _subscribe_email(server: ServeProcess, address: str) -> None:
    """An email channel for failed runs only."""
    with server.http() as http:
        channel = http.post(
            "notificationChannels/",
            json={"name": "ops", "channelType": "Email", "emailAddresses": [address]},
        )
        assert channel.status_code == 201, channel.text
        policy = http.post(
            "notificationPolicies/",
            json={
                "name": "failures by email",
                "channelId": channel.json()["id"],
                "eventType": "batch_predictions.failed",
            },
        )
        assert policy.status_code == 201, policy.text


def _deliveries_settled(server: ServeProcess, channel: str, count: int) -> dict[str, Any]:
    """The channel's deliveries once ``count`` of them are recorded and none is pending."""
    deadline = time.monotonic() + 120
    with server.http() as http:
        while True:
            listing: dict[str, Any] = http.get(f"notificationChannels/{channel}/deliveries/").json()
            settled = all(item["status"] != "pending" for item in listing["data"])
            if (listing["totalCount"] >= count and settled) or time.monotonic() > deadline:
                return listing
            time.sleep(0.2)


def test_signed_deliveries_for_success_and_failure_retried_after_a_500(
    fresh_store: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = fresh_store
    root = tmp_path / "files"
    root.mkdir()
    source = patients_csv(root / "in.csv")
    with webhook_receiver(SECRET, answers=[500]) as receiver, smtp_receiver() as smtp:
        env = {
            **_env(root),
            "SCORECAST_SMTP_HOST": smtp.host,
            "SCORECAST_SMTP_PORT": str(smtp.port),
            "SCORECAST_SMTP_FROM": "scorecast@example.com",
        }
        server = ServeProcess(home, url, env=env).start()
        try:
            deployment = register_demo_model(server)
            good = _definition(server, deployment, "good", source, root / "out.csv")
            bad = _definition(server, deployment, "bad", root / "absent.csv", root / "never.csv")
            channel = _subscribe(server, receiver.url)
            _subscribe_email(server, "ops@example.com")
            succeeded = _run(server, good)
            failed = _run(server, bad)
            assert (succeeded["status"], failed["status"]) == ("COMPLETED", "ABORTED")
            received = receiver.wait_for(3)
            (email,) = smtp.wait_for(1)
            # a delivery is recorded once its answer is back: after the receiver saw it
            listing = _deliveries_settled(server, channel, count=2)
        finally:
            server.stop()
    assert all(request.signature_ok for request in received), received
    assert received[0].answered == 500
    retried = [
        r for r in received[1:] if r.headers["webhook-id"] == received[0].headers["webhook-id"]
    ]
    assert len(retried) == 1 and retried[0].answered == 200
    by_event = {r.payload["event"]: r.payload for r in received[1:]}
    assert by_event["batch_predictions.success"]["job"]["id"] == succeeded["id"]
    assert by_event["batch_predictions.success"]["definition"]["name"] == "good"
    assert by_event["batch_predictions.success"]["job"]["scoredRows"] == 500
    assert by_event["batch_predictions.failed"]["job"]["id"] == failed["id"]
    assert by_event["batch_predictions.failed"]["job"]["endReason"] == "failed"
    assert "absent.csv" in by_event["batch_predictions.failed"]["reason"]
    assert email["Subject"] == "[scorecast] batch_predictions.failed: bad"
    assert smtp.envelopes == [["ops@example.com"]]
    assert "absent.csv" in email.get_payload(decode=True).decode()
    assert listing["totalCount"] == 2
    assert all(item["status"] == "delivered" for item in listing["data"])
    attempts = sorted(len(item["attempts"]) for item in listing["data"])
    assert attempts == [1, 2]
    codes = [a["statusCode"] for item in listing["data"] for a in item["attempts"]]
    assert sorted(codes) == [200, 200, 500]


def test_a_stored_delivery_is_sent_after_a_restart(
    fresh_store: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = fresh_store
    root = tmp_path / "files"
    root.mkdir()
    with webhook_receiver(SECRET) as receiver:
        api_only = ServeProcess(home, url, "--roles", "api", env=_env(root)).start()
        try:
            channel = _subscribe(api_only, receiver.url)
            with api_only.http() as http:
                queued = http.post(f"notificationChannels/{channel}/test/")
            assert queued.status_code == 202, queued.text
        finally:
            token = api_only.token
            api_only.stop()
        assert receiver.received == []  # no sender ran: the delivery waits in the store
        full = ServeProcess(home, url, env=_env(root))
        full.token = token
        full.start()
        try:
            (request,) = receiver.wait_for(1)
        finally:
            full.stop()
    assert request.signature_ok
    assert request.headers["webhook-id"] == queued.json()["id"]
    assert request.payload["event"] == "notifications.test"
