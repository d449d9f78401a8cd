"""Notification deliveries on SQLite and PostgreSQL: planned by emit in the event's
transaction, sent signed to a real webhook receiver and a real SMTP server, retried after a
5xx, not after a 4xx, folded by maximalFrequency, claimed by one sender at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from notification_rows import admin_caller, notify_settings_fixture  # noqa: F401
from rows import add_definition, add_job, org_and_user
from sqlalchemy import Engine, select

from notification_receivers import smtp_receiver, webhook_receiver
from scorecast.config import Settings, Smtp
from scorecast.domain.events import Event, EventType
from scorecast.runtime.notification_sender import NotificationSender
from scorecast.service import notification_channels, notification_policies
from scorecast.service.caller import Caller
from scorecast.service.claims import claim_next_job, finish_job
from scorecast.service.events import emit
from scorecast.service.notification_deliveries import claim_due
from scorecast.store.db import session_scope
from scorecast.store.models import NotificationAttempt, NotificationDelivery
from scorecast.store.types import utcnow

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _channel(engine: Engine, settings: Settings, caller: Caller, **body: Any) -> str:
    with session_scope(engine) as session:
        return notification_channels.create_channel(session, caller, settings, body).id


def _policy(engine: Engine, caller: Caller, **body: Any) -> str:
    with session_scope(engine) as session:
        return notification_policies.create_policy(session, caller, body).id


def _finish(engine: Engine, status: str) -> None:
    with session_scope(engine, immediate=True) as session:
        claim = claim_next_job(session, "w1", utcnow(), 30.0)
        assert claim is not None
        assert finish_job(session, claim, status, f"Job ended {status}", utcnow())


def _deliveries(engine: Engine) -> list[NotificationDelivery]:
    with session_scope(engine) as session:
        return list(session.scalars(select(NotificationDelivery)).all())


def _attempts(engine: Engine, delivery_id: str) -> list[NotificationAttempt]:
    with session_scope(engine) as session:
        query = select(NotificationAttempt).where(NotificationAttempt.delivery_id == delivery_id)
        return list(session.scalars(query.order_by(NotificationAttempt.id)).all())


def test_a_finished_job_is_delivered_signed_and_retried_after_a_500(
    engine: Engine, notify_settings: Settings
) -> None:
    caller = admin_caller(engine)
    definition = add_definition(engine, caller.org_id, caller.user_id, name="nightly")
    add_job(engine, caller.org_id, caller.user_id, definition_id=definition)
    with webhook_receiver(SECRET, answers=[500]) as receiver:
        channel = _channel(
            engine,
            notify_settings,
            caller,
            name="hook",
            channelType="Webhook",
            payloadUrl=receiver.url,
            secretToken=SECRET,
            customHeaders=[{"name": "X-Team", "value": "scoring"}],
        )
        _policy(
            engine,
            caller,
            name="failures",
            channelId=channel,
            eventType="batch_predictions.success",
            relatedEntityType="batchPredictionJobDefinition",
            relatedEntityId=definition,
        )
        _finish(engine, "COMPLETED")
        (delivery,) = _deliveries(engine)
        assert delivery.status == "pending" and delivery.event_type == EventType.SUCCESS

        now = [utcnow()]
        sender = NotificationSender(notify_settings, engine, clock=lambda: now[0])
        assert sender.run_once() == 1
        first = receiver.wait_for(1)[0]
        assert first.answered == 500 and first.signature_ok
        (row,) = _deliveries(engine)
        assert row.status == "pending" and row.next_attempt_at is not None
        assert row.next_attempt_at >= now[0] + timedelta(seconds=59)
        assert sender.run_once() == 0  # not due yet

        now[0] = row.next_attempt_at + timedelta(seconds=1)
        assert sender.run_once() == 1
        second = receiver.wait_for(2)[1]
    assert second.answered == 200 and second.signature_ok
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.id
    assert second.headers["x-team"] == "scoring"
    payload = second.payload
    assert payload["event"] == "batch_predictions.success"
    assert payload["definition"] == {"id": definition, "name": "nightly"}
    assert payload["job"]["status"] == "COMPLETED" and payload["job"]["statusDetails"]
    assert payload["links"]["jobPage"] == f"/jobs/{payload['job']['id']}"
    (row,) = _deliveries(engine)
    assert row.status == "delivered" and row.attempt_count == 2
    attempts = _attempts(engine, row.id)
    assert [(a.status_code, a.result) for a in attempts] == [
        (500, "retryable"),
        (200, "delivered"),
    ]


def test_a_4xx_answer_is_not_retried(engine: Engine, notify_settings: Settings) -> None:
    caller = admin_caller(engine)
    definition = add_definition(engine, caller.org_id, caller.user_id)
    add_job(engine, caller.org_id, caller.user_id, definition_id=definition)
    with webhook_receiver(None, answers=[410]) as receiver:
        channel = _channel(
            engine,
            notify_settings,
            caller,
            name="h",
            channelType="Webhook",
            payloadUrl=receiver.url,
        )
        _policy(engine, caller, name="all", channelId=channel, eventGroup="batch_predictions.all")
        _finish(engine, "FAILED")
        sender = NotificationSender(notify_settings, engine)
        assert sender.run_once() == 1
        (request,) = receiver.wait_for(1)
    assert "webhook-signature" not in request.headers  # no secret, no signature
    assert request.payload["event"] == "batch_predictions.failed"
    assert request.payload["job"]["status"] == "ABORTED"
    assert request.payload["job"]["endReason"] == "failed"
    (row,) = _deliveries(engine)
    assert row.status == "failed" and row.next_attempt_at is None
    assert _attempts(engine, row.id)[0].error == "answered 410: ok"


def test_only_matching_active_policies_of_the_organization_plan(
    engine: Engine, notify_settings: Settings
) -> None:
    caller = admin_caller(engine)
    org_b, user_b = org_and_user(engine, "org-b")
    other = Caller(org_id=org_b, user_id=user_b, username="bob")
    watched = add_definition(engine, caller.org_id, caller.user_id, name="watched")
    unwatched = add_definition(engine, caller.org_id, caller.user_id, name="unwatched")
    url = "http://127.0.0.1:9/hook"
    mine = _channel(
        engine, notify_settings, caller, name="a", channelType="Webhook", payloadUrl=url
    )
    theirs = _channel(
        engine, notify_settings, other, name="b", channelType="Webhook", payloadUrl=url
    )
    _policy(
        engine,
        caller,
        name="w",
        channelId=mine,
        eventType="batch_predictions.scheduler.skipped",
        relatedEntityId=watched,
    )
    _policy(
        engine, caller, name="off", channelId=mine, eventGroup="batch_predictions.all", active=False
    )
    _policy(engine, other, name="b", channelId=theirs, eventGroup="batch_predictions.all")
    with session_scope(engine) as session:
        for definition in (watched, unwatched):
            emit(
                session,
                Event(
                    EventType.SKIPPED,
                    caller.org_id,
                    definition_id=definition,
                    scheduled_time=utcnow(),
                    reason="the previous run still runs",
                ),
            )
        emit(session, Event(EventType.MISSED, caller.org_id, definition_id=watched))
    (delivery,) = _deliveries(engine)
    assert delivery.channel_id == mine and delivery.definition_id == watched
    assert delivery.payload["reason"] == "the previous run still runs"
    assert delivery.payload["scheduledTime"].endswith("Z")


def test_a_rolled_back_event_plans_nothing(engine: Engine, notify_settings: Settings) -> None:
    caller = admin_caller(engine)
    channel = _channel(
        engine,
        notify_settings,
        caller,
        name="a",
        channelType="Webhook",
        payloadUrl="http://127.0.0.1:9/",
    )
    _policy(engine, caller, name="all", channelId=channel, eventGroup="batch_predictions.all")
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        emit(session, Event(EventType.MISSED, caller.org_id))
        raise RuntimeError("the transaction that recorded the miss fails")
    assert _deliveries(engine) == []


def test_maximal_frequency_folds_events_into_one_waiting_delivery(
    engine: Engine, notify_settings: Settings
) -> None:
    caller = admin_caller(engine)
    channel = _channel(
        engine,
        notify_settings,
        caller,
        name="a",
        channelType="Webhook",
        payloadUrl="http://127.0.0.1:9/",
    )
    _policy(
        engine,
        caller,
        name="hourly",
        channelId=channel,
        eventType="batch_predictions.scheduler.missed",
        maximalFrequency="PT1H",
    )
    for reason in ("first", "second", "third", "fourth"):
        with session_scope(engine) as session:
            emit(session, Event(EventType.MISSED, caller.org_id, reason=reason))
        if reason == "first":  # the first one is sent at once
            with session_scope(engine) as session:
                assert (
                    len(claim_due(session, notify_settings, "s1", utcnow(), lease_seconds=60)) == 1
                )
    rows = sorted(_deliveries(engine), key=lambda row: row.first_due)
    assert len(rows) == 2
    assert rows[0].payload["reason"] == "first" and rows[0].payload["foldedEvents"] == 0
    assert rows[1].payload["reason"] == "fourth" and rows[1].payload["foldedEvents"] == 2
    assert rows[1].first_due - rows[0].first_due == timedelta(hours=1)


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_ends(
    engine: Engine, notify_settings: Settings
) -> None:
    caller = admin_caller(engine)
    channel = _channel(
        engine,
        notify_settings,
        caller,
        name="a",
        channelType="Webhook",
        payloadUrl="http://127.0.0.1:9/",
        secretToken="s3cret",
    )
    _policy(engine, caller, name="all", channelId=channel, eventGroup="batch_predictions.all")
    with session_scope(engine) as session:
        emit(session, Event(EventType.MISSED, caller.org_id))
    now = utcnow()
    with session_scope(engine, immediate=True) as session:
        (task,) = claim_due(session, notify_settings, "s1", now, lease_seconds=60)
    assert task.secret == "s3cret" and task.attempt == 1
    with session_scope(engine, immediate=True) as session:
        assert claim_due(session, notify_settings, "s2", now, lease_seconds=60) == []
    later = now + timedelta(seconds=61)
    with session_scope(engine, immediate=True) as session:
        (again,) = claim_due(session, notify_settings, "s2", later, lease_seconds=60)
    assert again.attempt == 2 and again.owner == "s2"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_email_channel_delivers_through_smtp(engine: Engine, notify_settings: Settings) -> None:
    caller = admin_caller(engine)
    definition = add_definition(engine, caller.org_id, caller.user_id, name="nightly")
    add_job(engine, caller.org_id, caller.user_id, definition_id=definition)
    with smtp_receiver() as smtp:
        settings = replace(
            notify_settings,
            smtp=Smtp(host=smtp.host, port=smtp.port, sender="scorecast@example.com"),
        )
        channel = _channel(
            engine,
            settings,
            caller,
            name="ops",
            channelType="Email",
            emailAddresses=["ops@example.com", "lead@example.com"],
        )
        _policy(engine, caller, name="f", channelId=channel, eventType="batch_predictions.failed")
        _finish(engine, "FAILED")
        assert NotificationSender(settings, engine).run_once() == 1
        (message,) = smtp.wait_for(1)
    assert message["Subject"] == "[scorecast] batch_predictions.failed: nightly"
    assert message["From"] == "scorecast@example.com"
    assert sorted(smtp.envelopes[0]) == ["lead@example.com", "ops@example.com"]
    text = message.get_payload(decode=True).decode()
    assert "Job definition: nightly" in text and "Job ended FAILED" in text
    (row,) = _deliveries(engine)
    assert row.status == "delivered"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_email_without_an_smtp_server_fails_saying_so(
    engine: Engine, notify_settings: Settings
) -> None:
    caller = admin_caller(engine)
    channel = _channel(
        engine,
        notify_settings,
        caller,
        name="ops",
        channelType="Email",
        emailAddress="ops@example.com",
    )
    _policy(engine, caller, name="all", channelId=channel, eventGroup="batch_predictions.all")
    with session_scope(engine) as session:
        emit(session, Event(EventType.MISSED, caller.org_id))
    assert NotificationSender(notify_settings, engine).run_once() == 1
    (row,) = _deliveries(engine)
    assert row.status == "failed"
    assert "SCORECAST_SMTP_HOST" in (_attempts(engine, row.id)[0].error or "")


def test_old_finished_deliveries_are_pruned(engine: Engine, notify_settings: Settings) -> None:
    caller = admin_caller(engine)
    channel = _channel(
        engine,
        notify_settings,
        caller,
        name="a",
        channelType="Webhook",
        payloadUrl="http://127.0.0.1:9/",
    )
    _policy(engine, caller, name="all", channelId=channel, eventGroup="batch_predictions.all")
    for _ in range(3):
        with session_scope(engine) as session:
            emit(session, Event(EventType.MISSED, caller.org_id))
    old, finished, _pending = (row.id for row in _deliveries(engine))
    with session_scope(engine) as session:
        for delivery_id, status, age in ((old, "failed", 31), (finished, "delivered", 29)):
            row = session.get(NotificationDelivery, delivery_id)
            assert row is not None
            row.status, row.created = status, utcnow() - timedelta(days=age)
            session.add(NotificationAttempt(delivery_id=delivery_id, result="rejected"))
    assert NotificationSender(notify_settings, engine).prune() == 1
    left = {row.id: row.status for row in _deliveries(engine)}
    assert old not in left and left[finished] == "delivered" and len(left) == 2
    assert _attempts(engine, old) == [] and len(_attempts(engine, finished)) == 1


def test_a_secret_that_cannot_be_decrypted_fails_its_delivery_only(
    engine: Engine, notify_settings: Settings
) -> None:
    from cryptography.fernet import Fernet

    caller = admin_caller(engine)
    keyed = replace(notify_settings, secret_key=Fernet.generate_key().decode())
    locked = _channel(
        engine,
        keyed,
        caller,
        name="a",
        channelType="Webhook",
        payloadUrl="http://127.0.0.1:9/",
        secretToken="s3cret",
    )
    plain = _channel(
        engine,
        notify_settings,
        caller,
        name="b",
        channelType="Webhook",
        payloadUrl="http://127.0.0.1:9/",
    )
    for channel in (locked, plain):
        _policy(engine, caller, name="all", channelId=channel, eventGroup="batch_predictions.all")
    with session_scope(engine) as session:
        emit(session, Event(EventType.MISSED, caller.org_id))
    with session_scope(engine, immediate=True) as session:  # the key file's key, not keyed's
        (task,) = claim_due(session, notify_settings, "s1", utcnow(), lease_seconds=60)
    assert task.payload_url == "http://127.0.0.1:9/" and task.secret is None
    (failed,) = [row for row in _deliveries(engine) if row.channel_id == locked]
    assert failed.status == "failed"
    assert "cannot be decrypted" in (_attempts(engine, failed.id)[0].error or "")
