"""The console's sign-in: an encrypted, expiring session cookie and per-session CSRF tokens.

The cookie holds the API token the user signed in with and the id of the sign-in's row in the
store (``service/console_sessions.py``), encrypted and authenticated with Fernet under a key
derived from the service's secret key (``derived_keys``), so it can be neither read nor forged;
Fernet's timestamp makes it expire after ``SESSION_SECONDS``, and so does the row. Every request
re-checks the token and the row against the store, so a revoked token ends its sessions at
once, and signing out (which deletes the row) ends that session even where a copy of the
cookie survives.
The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` and, over HTTPS,
``Secure``. Each form carries ``csrf_token(cookie)``, an HMAC of the cookie, checked on POST.

The sign-in form has no session yet, so it carries the HMAC of a random value that the page
set in a cookie of its own (``LOGIN_COOKIE``, ``SameSite=Strict``, for ``/login`` only): a
form posted from another site sends neither, and cannot sign a browser in with the poster's
token (login CSRF: the victim's uploads would then go to the poster's organization).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from scorecast.config import Settings
from scorecast.service.secrets import derived_keys

COOKIE_NAME = "scorecast_session"
#: the sign-in form's own cookie (see the module docstring)
LOGIN_COOKIE = "scorecast_login"
#: how long a console session lasts after signing in
SESSION_SECONDS = 8 * 3600


class ConsoleKeys:
    """The console's cookie and CSRF keys, derived from the service's secret key(s)."""

    def __init__(self, settings: Settings) -> None:
        cookie_keys = derived_keys(settings, b"scorecast console sessions")
        self._fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(k)) for k in cookie_keys])
        self._csrf_key = derived_keys(settings, b"scorecast console csrf")[0]

    def seal(self, api_token: str, session_id: str) -> str:
        """The cookie value carrying ``api_token`` and its sign-in's ``session_id``."""
        payload = json.dumps({"token": api_token, "session": session_id}).encode("utf-8")
        return self._fernet.encrypt(payload).decode("ascii")

    def open(self, cookie: str | None) -> tuple[str, str] | None:
        """The API token and session id in a cookie that is genuine and not expired, else None
        (a cookie made before sign-ins were kept in the store names no session: None)."""
        if not cookie:
            return None
        try:
            payload = self._fernet.decrypt(cookie.encode("ascii"), ttl=SESSION_SECONDS)
            values = json.loads(payload)
            token, session_id = values.get("token"), values.get("session")
        except (InvalidToken, UnicodeError, ValueError, AttributeError):
            return None
        if isinstance(token, str) and token and isinstance(session_id, str) and session_id:
            return token, session_id
        return None

    def login_csrf(self, nonce: str) -> str:
        """The sign-in form's token for the value of its cookie (apart from sessions')."""
        return self.csrf_token("login:" + nonce)

    def csrf_token(self, cookie: str) -> str:
        data = cookie.encode("utf-8", "surrogateescape")
        return hmac.new(self._csrf_key, data, hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie: str | None, sent: str | None) -> bool:
        """Whether ``sent`` is the form token of ``cookie``; any text compares (as bytes: a
        non-ASCII value is simply wrong, where comparing it as a string raised)."""
        if not cookie or not sent:
            return False
        expected = self.csrf_token(cookie).encode("ascii")
        return hmac.compare_digest(expected, sent.encode("utf-8", "surrogateescape"))
