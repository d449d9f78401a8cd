"""What one notification attempt does when something is wrong, against real receivers: a value
stored before it was checked fails its own delivery only, an answer dripped slowly is cut at
the timeout, a long answer is not read whole, a partly refused email fails naming the refused
addresses, a 408 or 429 waits for its Retry-After, and a receiver's words cannot forge a
log line."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import replace
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from notification_rows import admin_caller, notify_settings_fixture  # noqa: F401
from rows import add_definition, add_job
from sqlalchemy import Engine, select

from notification_receivers import (
    WAIT_SECONDS,
    Answer,
    raw_receiver,
    read_request_head,
    smtp_receiver,
    webhook_receiver,
)
from scorecast.config import NotificationSettings, Settings, Smtp
from scorecast.domain.events import Event, EventType
from scorecast.runtime.notification_sender import NotificationSender
from scorecast.service import notification_channels, notification_policies
from scorecast.service.caller import Caller
from scorecast.service.claims import claim_next_job, finish_job
from scorecast.service.events import emit
from scorecast.service.secrets import SecretBox
from scorecast.store.db import session_scope
from scorecast.store.models import NotificationAttempt, NotificationChannel, NotificationDelivery
from scorecast.store.types import utcnow

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def _channel(engine: Engine, settings: Settings, caller: Caller, **body: Any) -> str:
    with session_scope(engine) as session:
        channel = notification_channels.create_channel(session, caller, settings, body)
        notification_policies.create_policy(
            session,
            caller,
            {"name": "all", "channelId": channel.id, "eventGroup": "batch_predictions.all"},
        )
        return channel.id


def _missed(engine: Engine, caller: Caller) -> None:
    with session_scope(engine) as session:
        emit(session, Event(EventType.MISSED, caller.org_id, reason="the scheduler was down"))


def _delivery(engine: Engine, channel_id: str) -> tuple[NotificationDelivery, list[str]]:
    """The channel's one delivery and its attempts' errors."""
    with session_scope(engine) as session:
        delivery = session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.channel_id == channel_id)
        ).one()
        query = select(NotificationAttempt).where(NotificationAttempt.delivery_id == delivery.id)
        errors = [a.error or "" for a in session.scalars(query.order_by(NotificationAttempt.id))]
        return delivery, errors


def _store(engine: Engine, channel_id: str, **values: Any) -> None:
    """Write values straight into a channel's row, as an older version may have stored them."""
    with session_scope(engine) as session:
        channel = session.get(NotificationChannel, channel_id)
        assert channel is not None
        for name, value in values.items():
            setattr(channel, name, value)


def test_values_stored_before_they_were_checked_fail_only_their_own_delivery(
    engine: Engine, notify_settings: Settings
) -> None:
    caller = admin_caller(engine)
    box = SecretBox.from_settings(notify_settings)
    with webhook_receiver(None) as receiver, smtp_receiver() as smtp:
        settings = replace(notify_settings, smtp=Smtp(host=smtp.host, port=smtp.port))
        hook = {"channelType": "Webhook", "payloadUrl": receiver.url}
        header = _channel(engine, settings, caller, name="header", **hook)
        sealed = box.encrypt({"headers": [{"name": "X-Team", "value": "Zürich"}]})
        _store(engine, header, custom_headers={"names": ["X-Team"], "sealed": sealed.decode()})
        secret = _channel(engine, settings, caller, name="secret", **hook)
        _store(engine, secret, secret=box.encrypt({"secretToken": "whsec_"}))
        mail = _channel(
            engine, settings, caller, name="mail", channelType="Email", emailAddress="a@b.com"
        )
        _store(engine, mail, email={"addresses": ["ops\x0bx@example.com"]})
        good = _channel(engine, settings, caller, name="good", **hook)
        _missed(engine, caller)
        assert NotificationSender(settings, engine).run_once() == 4
        (request,) = receiver.wait_for(1)
    assert request.payload["reason"] == "the scheduler was down"
    assert _delivery(engine, good)[0].status == "delivered"
    for channel, says in (
        (header, "customHeaders: the value of X-Team is not printable ASCII"),
        (secret, "secretToken: the part after whsec_ must decode to at least 24 bytes"),
        (mail, "could not send: ValueError"),
    ):
        delivery, errors = _delivery(engine, channel)
        assert (delivery.status, errors) == ("failed", [says])
    assert smtp.messages == []


def test_a_definition_name_with_line_breaks_makes_a_one_line_subject(
    engine: Engine, notify_settings: Settings
) -> None:
    caller = admin_caller(engine)
    name = "nightly\r\nBcc: attacker@example.com\u2028x\x85y\x0bz"
    definition = add_definition(engine, caller.org_id, caller.user_id, name=name)
    add_job(engine, caller.org_id, caller.user_id, definition_id=definition)
    with smtp_receiver() as smtp:
        settings = replace(notify_settings, smtp=Smtp(host=smtp.host, port=smtp.port))
        mail = _channel(
            engine, settings, caller, name="m", channelType="Email", emailAddress="ops@x.com"
        )
        with session_scope(engine, immediate=True) as session:
            claim = claim_next_job(session, "w1", utcnow(), 30.0)
            assert claim is not None
            assert finish_job(session, claim, "FAILED", "Job failed", utcnow())
        assert NotificationSender(settings, engine).run_once() == 1
        (message,) = smtp.wait_for(1)
    expected = "[scorecast] batch_predictions.failed: nightly Bcc: attacker@example.com x y z"
    unfolded = str(message["Subject"]).replace("\r\n", "").strip()  # RFC 5322 unfolding
    assert unfolded == expected and message["Bcc"] is None
    assert smtp.envelopes == [["ops@x.com"]]
    assert _delivery(engine, mail)[0].status == "delivered"


def test_a_partly_refused_email_fails_naming_the_refused_addresses(
    engine: Engine, notify_settings: Settings
) -> None:
    caller = admin_caller(engine)
    with smtp_receiver(refuse=frozenset({"gone@example.com"})) as smtp:
        settings = replace(notify_settings, smtp=Smtp(host=smtp.host, port=smtp.port))
        mail = _channel(
            engine,
            settings,
            caller,
            name="m",
            channelType="Email",
            emailAddresses=["ops@example.com", "gone@example.com"],
        )
        _missed(engine, caller)
        assert NotificationSender(settings, engine).run_once() == 1
        smtp.wait_for(1)
    assert smtp.envelopes == [["ops@example.com"]]
    delivery, errors = _delivery(engine, mail)
    assert (delivery.status, errors) == ("failed", ["recipients refused: gone@example.com"])


def test_an_answer_dripped_slowly_is_cut_at_the_timeout(
    engine: Engine, notify_settings: Settings
) -> None:
    """Each byte comes well within the timeout, the whole answer never does: the attempt
    ends at the timeout (a retry), long before the sender's lease would run out."""
    cut = threading.Event()

    def drip(connection: socket.socket) -> None:
        read_request_head(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nx-drip: ")
        started = time.monotonic()
        try:
            while time.monotonic() - started < WAIT_SECONDS:
                connection.sendall(b"x")
                time.sleep(0.2)
            connection.sendall(b"\r\ncontent-length: 0\r\n\r\n")
        except OSError:
            cut.set()
            raise

    caller = admin_caller(engine)
    settings = replace(notify_settings, notifications=NotificationSettings(timeout_seconds=1.0))
    with raw_receiver(drip) as url:
        channel = _channel(
            engine, settings, caller, name="h", channelType="Webhook", payloadUrl=url
        )
        _missed(engine, caller)
        assert NotificationSender(settings, engine).run_once() == 1
        assert cut.wait(WAIT_SECONDS)
    delivery, errors = _delivery(engine, channel)
    assert (delivery.status, errors) == ("pending", ["no answer within 1 s"])


def test_an_smtp_greeting_dripped_slowly_is_cut_at_the_timeout(store_url: str) -> None:
    """A greeting of ever more ``220-`` lines, each well within the timeout: the attempt is
    cut at the timeout all the same (the connection is watched before the greeting is read)."""
    from urllib.parse import urlsplit

    from scorecast.runtime.notification_transport import send_email
    from scorecast.service.notification_deliveries import DeliveryTask

    cut = threading.Event()

    def drip(connection: socket.socket) -> None:
        started = time.monotonic()
        try:
            while time.monotonic() - started < WAIT_SECONDS:
                connection.sendall(b"220-slow\r\n")
                time.sleep(0.2)
        except OSError:
            cut.set()
            raise

    task = DeliveryTask(
        "d1", 1, "me", "Email", {"event": "jobFailed"}, None, (), None, True, ("ops@example.com",)
    )
    with raw_receiver(drip) as url:
        port = urlsplit(url).port
        assert port is not None
        outcome = send_email(task, Smtp(host="127.0.0.1", port=port), 1.0)
        assert cut.wait(WAIT_SECONDS)
    assert outcome.error is not None and "took more than 1 s" in outcome.error


def test_only_the_start_of_a_long_answer_is_read(engine: Engine, notify_settings: Settings) -> None:
    ended = threading.Event()
    sent_all: list[bool] = []

    def flood(connection: socket.socket) -> None:
        try:
            read_request_head(connection)
            connection.sendall(b"HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n" % (1 << 20) + b"x" * (1 << 20) + b"\r\n"
            for _ in range(256):  # 256 MiB: far more than any socket buffer holds
                connection.sendall(chunk)
            connection.sendall(b"0\r\n\r\n")
            sent_all.append(True)
        finally:
            ended.set()

    caller = admin_caller(engine)
    with raw_receiver(flood) as url:
        channel = _channel(
            engine, notify_settings, caller, name="h", channelType="Webhook", payloadUrl=url
        )
        _missed(engine, caller)
        assert NotificationSender(notify_settings, engine).run_once() == 1
        assert ended.wait(WAIT_SECONDS)
    assert sent_all == []  # the sender stopped reading and hung up
    delivery, errors = _delivery(engine, channel)
    assert delivery.status == "pending" and errors == ["answered 500: " + "x" * 200]


def test_a_408_or_429_is_retried_after_its_retry_after(
    engine: Engine, notify_settings: Settings
) -> None:
    """Seconds or an HTTP-date, waited when longer than the backoff, at most the longest
    delay (3600 s); another 4xx still fails at once (``test_notification_delivery``)."""
    caller = admin_caller(engine)
    later = format_datetime(utcnow() + timedelta(days=2), usegmt=True)
    answers: list[int | Answer] = [
        Answer(429, {"Retry-After": "3000"}),
        Answer(408, {"Retry-After": later}),
        Answer(503, {"Retry-After": "1"}),
    ]
    with webhook_receiver(None, answers=answers) as receiver:
        channel = _channel(
            engine,
            notify_settings,
            caller,
            name="h",
            channelType="Webhook",
            payloadUrl=receiver.url,
        )
        _missed(engine, caller)
        now = [utcnow()]
        sender = NotificationSender(notify_settings, engine, clock=lambda: now[0])
        waits = []
        for count in (1, 2, 3, 4):
            assert sender.run_once() == 1
            receiver.wait_for(count)
            delivery, _ = _delivery(engine, channel)
            if delivery.next_attempt_at is not None:
                waits.append((delivery.next_attempt_at - now[0]).total_seconds())
                now[0] = delivery.next_attempt_at
    # 429: its 3000 s; 408: two days, cut to 3600 s; 503: 1 s, less than the 240 s backoff
    assert waits == [3000.0, 3600.0, 240.0]
    delivery, errors = _delivery(engine, channel)
    assert delivery.status == "delivered" and errors[:2] == ["answered 429: ok", "answered 408: ok"]


def test_a_receivers_answer_cannot_forge_log_lines(
    engine: Engine, notify_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caller = admin_caller(engine)
    forged = b"bad\n2026-12-07 22:00:00,000 CRITICAL scorecast.auth: forged\x1b[31m\xe2\x80\xa8!"
    with webhook_receiver(None, answers=[Answer(400, body=forged)]) as receiver:
        channel = _channel(
            engine,
            notify_settings,
            caller,
            name="h",
            channelType="Webhook",
            payloadUrl=receiver.url,
        )
        _missed(engine, caller)
        with caplog.at_level(logging.INFO, logger="scorecast.notifications"):
            assert NotificationSender(notify_settings, engine).run_once() == 1
    shown = "bad\\n2026-12-07 22:00:00,000 CRITICAL scorecast.auth: forged\\x1b[31m\\u2028!"
    (record,) = [r for r in caplog.records if r.name == "scorecast.notifications"]
    assert record.getMessage().endswith(f"failed (answered 400: {shown})")
    assert _delivery(engine, channel)[1] == [f"answered 400: {shown}"]
