"""Real receivers for notification tests: a webhook endpoint and an SMTP server on 127.0.0.1.

``WebhookReceiver`` is an HTTP server in a thread that records every request, answers from a
script of status codes (then 200), and checks each Standard Webhooks signature with the
secret it is given. ``SmtpReceiver`` is an aiosmtpd server that keeps the messages it gets.
Both signal arrivals through a condition, so tests wait on them with generous deadlines.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scorecast.domain.webhook_signing import SignatureMismatch, verify

WAIT_SECONDS = 120.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    signature_ok: bool | None

    @property
    def payload(self) -> dict[str, Any]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value


@dataclass
class WebhookReceiver:
    secret: str | None
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def record(self, headers: dict[str, str], body: bytes) -> int:
        with self._changed:
            answer = self.answers.pop(0) if self.answers else 200
            ok = None
            if self.secret is not None:
                try:
                    verify(self.secret, headers, body, now=int(time.time()))
                    ok = True
                except SignatureMismatch:
                    ok = False
            self.received.append(Received(headers, body, answer, ok))
            self._changed.notify_all()
            return answer

    def wait_for(self, count: int, timeout: float = WAIT_SECONDS) -> list[Received]:
        """Wait until ``count`` requests arrived (AssertionError after ``timeout``)."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            assert arrived, f"{len(self.received)} of {count} webhook requests arrived"
            return list(self.received)


@contextmanager
def webhook_receiver(
    secret: str | None, answers: list[int] | None = None
) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret=secret, answers=list(answers or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {key.lower(): value for key, value in self.headers.items()}
            status = receiver.record(headers, body)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpReceiver:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._changed:
            self.messages.append(message_from_bytes(envelope.content))
            self.envelopes.append(list(envelope.rcpt_tos))
            self._changed.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = WAIT_SECONDS) -> list[Message]:
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.messages) >= count, timeout)
            assert arrived, f"{len(self.messages)} of {count} emails arrived"
            return list(self.messages)


@contextmanager
def smtp_receiver() -> Iterator[SmtpReceiver]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = SmtpReceiver(port=port)
    controller = Controller(receiver, hostname="127.0.0.1", port=port, ready_timeout=60)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
