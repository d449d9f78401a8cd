"""One attempt of one notification delivery: a signed webhook POST or an email.

- Webhooks: a JSON body with the Standard Webhooks headers (``domain.webhook_signing``) and the
  channel's custom headers, over httpx with the configured timeout, the channel's
  ``validateSsl``, no redirects followed and no proxy from the environment. The host is checked
  again when sending (it may resolve elsewhere since the channel was saved), and the request
  goes to the address that was checked (``Host`` and TLS server name stay the URL's), so a
  second DNS answer cannot aim it elsewhere.
- Email: ``smtplib`` to ``SCORECAST_SMTP_HOST``, with STARTTLS and login when configured.

Each returns an ``AttemptOutcome`` (``domain.delivery_retry`` says which are retried); the
outcome's error names the cause, never the secret or the SMTP password.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from scorecast import __version__
from scorecast.config import Settings, Smtp
from scorecast.connectors.safety import UnresolvedHost, UnsafeLocationError, pinned_address
from scorecast.domain.delivery_retry import AttemptResult, classify_http
from scorecast.domain.notification_payload import email_subject, email_text
from scorecast.domain.webhook_signing import signed_headers
from scorecast.service.notification_deliveries import AttemptOutcome, DeliveryTask

USER_AGENT = f"scorecast-webhooks/{__version__}"
_ANSWER_EXCERPT = 200


def attempt(task: DeliveryTask, settings: Settings) -> AttemptOutcome:
    """Make one attempt of ``task`` on its channel."""
    started = time.perf_counter()
    if task.channel_type == "Email":
        outcome = send_email(task, settings.smtp, settings.notifications.timeout_seconds)
    else:
        outcome = send_webhook(task, settings)
    elapsed = int((time.perf_counter() - started) * 1000)
    return AttemptOutcome(outcome.result, outcome.status_code, outcome.error, elapsed)


def webhook_body(task: DeliveryTask) -> bytes:
    return json.dumps(task.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


def send_webhook(task: DeliveryTask, settings: Settings) -> AttemptOutcome:
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
    body = webhook_body(task)
    headers = dict(task.headers)
    headers.update(signed_headers(task.secret, task.delivery_id, int(time.time()), body))
    headers.update({"content-type": "application/json", "user-agent": USER_AGENT})
    target: str = url
    extensions: dict[str, Any] = {}
    if address is not None:
        target, host, extensions = pinned(parts, address)
        headers["host"] = host
    timeout = settings.notifications.timeout_seconds
    try:
        with httpx.Client(
            timeout=timeout, verify=task.validate_ssl, follow_redirects=False, trust_env=False
        ) as client:
            request = client.build_request(
                "POST", target, content=body, headers=headers, extensions=extensions
            )
            response = client.send(request)
    except httpx.TimeoutException:
        return AttemptOutcome(AttemptResult.RETRYABLE, error=f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return AttemptOutcome(
            AttemptResult.RETRYABLE, error=f"connection failed: {type(exc).__name__}: {exc}"
        )
    result = classify_http(response.status_code)
    error = None
    if result is not AttemptResult.DELIVERED:
        excerpt = response.text[:_ANSWER_EXCERPT].strip()
        error = f"answered {response.status_code}" + (f": {excerpt}" if excerpt else "")
    return AttemptOutcome(result, status_code=response.status_code, error=error)


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


def send_email(task: DeliveryTask, smtp: Smtp, timeout: float) -> AttemptOutcome:
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
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients))
        return AttemptOutcome(AttemptResult.REJECTED, error=f"recipients refused: {refused}")
    except smtplib.SMTPResponseException as exc:
        reply = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        result = AttemptResult.RETRYABLE if 400 <= exc.smtp_code < 500 else AttemptResult.REJECTED
        return AttemptOutcome(result, error=f"SMTP {exc.smtp_code}: {reply}"[:500])
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        return AttemptOutcome(
            AttemptResult.RETRYABLE,
            error=f"SMTP server {smtp.host}:{smtp.port} unreachable: {type(exc).__name__}",
        )
    except smtplib.SMTPException as exc:
        return AttemptOutcome(AttemptResult.REJECTED, error=f"SMTP: {type(exc).__name__}")
    return AttemptOutcome(AttemptResult.DELIVERED)
