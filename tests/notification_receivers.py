"""Real receivers for notification tests: a webhook endpoint and an SMTP server on 127.0.0.1.

``WebhookReceiver`` is an HTTP server in a thread that records every request, answers from a
script of status codes or ``Answer``s (then 200), and checks each Standard Webhooks signature
with the secret it is given. ``raw_receiver`` is a TCP server that hands each connection to a
test's own function (an answer dripped or flooded). ``SmtpReceiver`` is an aiosmtpd server that
keeps the messages it gets. They signal arrivals through a condition or an event, so tests
wait on them with generous deadlines.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
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


@dataclass(frozen=True)
class Answer:
    """A scripted answer: status, extra headers and body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass
class WebhookReceiver:
    secret: str | None
    answers: list[int | Answer] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def record(self, headers: dict[str, str], body: bytes) -> Answer:
        with self._changed:
            scripted = self.answers.pop(0) if self.answers else 200
            answer = scripted if isinstance(scripted, Answer) else Answer(scripted)
            ok = None
            if self.secret is not None:
                try:
                    verify(self.secret, headers, body, now=int(time.time()))
                    ok = True
                except SignatureMismatch:
                    ok = False
            self.received.append(Received(headers, body, answer.status, ok))
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
    secret: str | None, answers: list[int | Answer] | None = None
) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret=secret, answers=list(answers or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {key.lower(): value for key, value in self.headers.items()}
            answer = receiver.record(headers, body)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

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


@contextmanager
def raw_receiver(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A TCP server on 127.0.0.1 calling ``handle`` with each connection (in its own
    thread, the request not yet read; the connection is closed after); yields its URL."""
    server = socket.create_server(("127.0.0.1", 0))
    stopping = threading.Event()

    def serve(connection: socket.socket) -> None:
        # OSError: the sender cut the connection, which is what some tests want
        with connection, contextlib.suppress(OSError):
            handle(connection)

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stopping.set()
        server.close()


def read_request_head(connection: socket.socket) -> bytes:
    """The request line and headers of the HTTP request arriving on ``connection``."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(65536)
        if not chunk:
            break
        head += chunk
    return head


@dataclass
class SmtpReceiver:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    envelopes: list[list[str]] = field(default_factory=list)
    #: recipients answered ``550`` (the others are taken)
    refuse: frozenset[str] = frozenset()
    _changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

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
def smtp_receiver(refuse: frozenset[str] = frozenset()) -> Iterator[SmtpReceiver]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = SmtpReceiver(port=port, refuse=refuse)
    controller = Controller(receiver, hostname="127.0.0.1", port=port, ready_timeout=60)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
