"""One attempt of one notification delivery: a signed webhook POST or an email.

- Webhooks: a JSON body with the Standard Webhooks headers (``domain.webhook_signing``) and the
  channel's custom headers, over httpx with the channel's ``validateSsl``, no redirects
  followed and no proxy from the environment. The host is checked again when sending (it may
  resolve elsewhere since the channel was saved), and the request goes to the address that
  was checked (``Host`` and TLS server name stay the URL's), so a second DNS answer cannot aim
  it elsewhere. At most ``ANSWER_READ_BYTES`` of the answer are read.
- Email: ``smtplib`` to ``SCORECAST_SMTP_HOST``, with STARTTLS and login when configured.

An attempt takes at most ``SCORECAST_NOTIFICATION_TIMEOUT_SECONDS`` in all (connecting,
sending and reading the answer): at that deadline its connection is cut (``Deadline``), so a
receiver that answers a byte at a time cannot hold it past the sender's lease.

Each returns an ``AttemptOutcome`` (``domain.delivery_retry`` says which are retried) and never
raises: whatever goes wrong is that attempt's failure. The outcome's error names the cause,
never the secret, a header value or the SMTP password, and shows the receiver's words with
their control characters escaped (``printable``).
"""

from __future__ import annotations

import contextlib
import json
import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid
from types import TracebackType
from typing import Any, cast
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from scorecast import __version__
from scorecast.config import Settings, Smtp
from scorecast.connectors.safety import UnresolvedHost, UnsafeLocationError, pinned_address
from scorecast.domain.delivery_retry import AttemptResult, classify_http, retry_after_seconds
from scorecast.domain.notification_payload import email_subject, email_text
from scorecast.domain.webhook_signing import InvalidSecret, signed_headers
from scorecast.service.notification_deliveries import AttemptOutcome, DeliveryTask
from scorecast.store.types import utcnow

USER_AGENT = f"scorecast-webhooks/{__version__}"
#: the most of an answer's body that is read (the rest is never received into memory)
ANSWER_READ_BYTES = 4096
_ANSWER_EXCERPT = 200
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")


def printable(text: str) -> str:
    """``text`` with every unprintable character (line breaks, escape sequences, other
    control characters) written as ``repr()`` writes it, so it stays one line of a log."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class Deadline:
    """Cuts an attempt's connection once ``seconds`` have passed since it was entered.

    httpx and smtplib time out each read or write on its own, so an answer dripped a byte at
    a time never times out; shutting the socket down wakes whichever call waits on it. Give
    it each socket the attempt comes to use (``watch``, or ``trace`` as httpx's ``trace``
    request extension); a socket given after the deadline is cut at once.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._passed = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    @property
    def passed(self) -> bool:
        with self._lock:
            return self._passed

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._socket = sock
            passed = self._passed
        if passed:
            self._cut(sock)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            if stream is not None:
                self.watch(stream.get_extra_info("socket"))

    def _expire(self) -> None:
        with self._lock:
            self._passed = True
            sock = self._socket
        self._cut(sock)

    @staticmethod
    def _cut(sock: socket.socket | None) -> None:
        if sock is None:
            return
        with contextlib.suppress(OSError):  # already closed
            # socket.socket's own shutdown, also for an SSLSocket (no TLS goodbye)
            socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._timer.cancel()


def attempt(task: DeliveryTask, settings: Settings) -> AttemptOutcome:
    """Make one attempt of ``task`` on its channel (never raises)."""
    started = time.perf_counter()
    if task.channel_type == "Email":
        outcome = send_email(task, settings.smtp, settings.notifications.timeout_seconds)
    else:
        outcome = send_webhook(task, settings)
    elapsed = int((time.perf_counter() - started) * 1000)
    return replace(outcome, duration_ms=elapsed)


def webhook_body(task: DeliveryTask) -> bytes:
    return json.dumps(task.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


def send_webhook(task: DeliveryTask, settings: Settings) -> AttemptOutcome:
    """POST ``task`` to its webhook; any failure is the attempt's outcome, never raised."""
    try:
        return _post(task, settings)
    except Exception as exc:
        return _unexpected(exc)


def send_email(task: DeliveryTask, smtp: Smtp, timeout: float) -> AttemptOutcome:
    """Mail ``task`` to its addresses; any failure is the attempt's outcome, never raised."""
    try:
        return _mail(task, smtp, timeout)
    except Exception as exc:
        return _unexpected(exc)


def _unexpected(exc: Exception) -> AttemptOutcome:
    # only the type: the message of an encoding error, say, quotes the header value it met
    return AttemptOutcome(AttemptResult.REJECTED, error=f"could not send: {type(exc).__name__}")


def _post(task: DeliveryTask, settings: Settings) -> AttemptOutcome:
    url = task.payload_url or ""
    try:
        parts = urlsplit(url)
        address = pinned_address(
            parts.hostname, parts.port, allow_private=settings.allow_private_endpoints
        )
    except UnresolvedHost as exc:  # the resolver may be back later; never connect by name
        return AttemptOutcome(AttemptResult.RETRYABLE, error=f"payloadUrl: {exc}")
    except (UnsafeLocationError, ValueError) as exc:
        return AttemptOutcome(AttemptResult.REJECTED, error=f"payloadUrl refused: {exc}")
    for name, value in task.headers:  # stored before values were checked when saved
        if not _HEADER_VALUE.fullmatch(value):
            return AttemptOutcome(
                AttemptResult.REJECTED,
                error=f"customHeaders: the value of {name} is not printable ASCII",
            )
    body = webhook_body(task)
    headers = {name: value.strip(" \t") for name, value in task.headers}  # as HTTP reads them
    try:
        headers.update(signed_headers(task.secret, task.delivery_id, int(time.time()), body))
    except InvalidSecret as exc:  # stored before whsec_ secrets were checked when saved
        return AttemptOutcome(AttemptResult.REJECTED, error=f"secretToken: {exc}")
    headers.update(
        {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "accept-encoding": "identity",
        }
    )
    target: str = url
    extensions: dict[str, Any] = {}
    if address is not None:
        target, host, extensions = pinned(parts, address)
        headers["host"] = host
    timeout = settings.notifications.timeout_seconds
    with Deadline(timeout) as deadline:
        extensions["trace"] = deadline.trace
        try:
            return _exchange(
                target, body, headers, extensions, verify=task.validate_ssl, timeout=timeout
            )
        except httpx.LocalProtocolError as exc:  # its message may quote a header value
            return AttemptOutcome(AttemptResult.REJECTED, error=f"refused: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.TimeoutException) or deadline.passed:
                error = f"no answer within {timeout:g} s"
            else:
                error = f"connection failed: {type(exc).__name__}: {printable(str(exc))}"
            return AttemptOutcome(AttemptResult.RETRYABLE, error=error)


def _exchange(
    target: str,
    body: bytes,
    headers: dict[str, str],
    extensions: dict[str, Any],
    *,
    verify: bool,
    timeout: float,
) -> AttemptOutcome:
    with httpx.Client(
        timeout=timeout, verify=verify, follow_redirects=False, trust_env=False
    ) as client:
        request = client.build_request(
            "POST", target, content=body, headers=headers, extensions=extensions
        )
        response = client.send(request, stream=True)
        try:
            result = classify_http(response.status_code)
            if result is AttemptResult.DELIVERED:
                return AttemptOutcome(result, status_code=response.status_code)
            excerpt = printable(_answer_start(response)[:_ANSWER_EXCERPT].strip())
        finally:
            response.close()  # an unread rest is dropped with the connection
    error = f"answered {response.status_code}" + (f": {excerpt}" if excerpt else "")
    wait = None
    if result is AttemptResult.RETRYABLE:
        wait = retry_after_seconds(response.headers.get("retry-after"), utcnow())
    return AttemptOutcome(result, status_code=response.status_code, error=error, retry_after=wait)


def _answer_start(response: httpx.Response) -> str:
    """The first ``ANSWER_READ_BYTES`` of the answer's body, as text."""
    start = b""
    for chunk in response.iter_raw(ANSWER_READ_BYTES):
        start += chunk
        if len(start) >= ANSWER_READ_BYTES:
            break
    return start[:ANSWER_READ_BYTES].decode("utf-8", "replace")


def pinned(parts: SplitResult, address: str) -> tuple[str, str, dict[str, Any]]:
    """The URL aimed at ``address`` (a checked IP of the URL's host), the ``Host`` header
    to send, and the request extensions that keep the TLS server name (SNI and certificate
    check) the URL's host."""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host = parts.hostname or ""
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if parts.port is None else f"{shown_host}:{parts.port}"
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    extensions: dict[str, Any] = {}
    if parts.scheme.lower() == "https":
        extensions["sni_hostname"] = host
    return target, host_header, extensions


def _mail(task: DeliveryTask, smtp: Smtp, timeout: float) -> AttemptOutcome:
    if smtp.host is None:
        return AttemptOutcome(
            AttemptResult.REJECTED, error="no SMTP server is configured (SCORECAST_SMTP_HOST)"
        )
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(task.addresses)
    message["Subject"] = email_subject(task.payload)
    message["Message-ID"] = make_msgid(idstring=task.delivery_id)
    message["X-Scorecast-Delivery"] = task.delivery_id
    message.set_content(email_text(task.payload))
    server = f"SMTP server {smtp.host}:{smtp.port}"
    with Deadline(timeout) as deadline:
        try:
            refused = _session(message, smtp, timeout, deadline)
        except smtplib.SMTPRecipientsRefused as exc:
            return _refused(exc.recipients)
        except smtplib.SMTPResponseException as exc:
            reply = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            result = (
                AttemptResult.RETRYABLE if 400 <= exc.smtp_code < 500 else AttemptResult.REJECTED
            )
            return AttemptOutcome(result, error=printable(f"SMTP {exc.smtp_code}: {reply}"[:500]))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            if deadline.passed:
                return AttemptOutcome(
                    AttemptResult.RETRYABLE, error=f"{server} took more than {timeout:g} s"
                )
            return AttemptOutcome(
                AttemptResult.RETRYABLE, error=f"{server} unreachable: {type(exc).__name__}"
            )
        except smtplib.SMTPException as exc:
            return AttemptOutcome(AttemptResult.REJECTED, error=f"SMTP: {type(exc).__name__}")
    return _refused(refused) if refused else AttemptOutcome(AttemptResult.DELIVERED)


def _session(
    message: EmailMessage, smtp: Smtp, timeout: float, deadline: Deadline
) -> dict[str, Any]:
    """Send ``message``; the recipients the server refused while taking it for the others."""
    assert smtp.host is not None
    with _WatchedSMTP(deadline, timeout=timeout) as client:
        client.connect(smtp.host, smtp.port)
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
            deadline.watch(client.sock)
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        return dict(client.send_message(message))


class _WatchedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` whose connection the attempt's ``Deadline`` watches from the moment it
    is made, before the server's greeting is read (a greeting of many lines, dripped slowly,
    would otherwise hold the attempt past its deadline)."""

    def __init__(self, deadline: Deadline, *, timeout: float) -> None:
        self._deadline = deadline
        super().__init__(timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # ``connect`` opens its socket here (since Python 2; not in typeshed), then reads the
        # greeting: the one place between the two
        sock = cast(socket.socket, super()._get_socket(host, port, timeout))  # type: ignore[misc]
        self._deadline.watch(sock)
        return sock


def _refused(recipients: dict[str, Any]) -> AttemptOutcome:
    listed = printable(", ".join(sorted(recipients)))
    return AttemptOutcome(AttemptResult.REJECTED, error=f"recipients refused: {listed}")
