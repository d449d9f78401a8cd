"""The console's sign-in: an encrypted, expiring session cookie and per-session CSRF tokens.

The cookie holds the API token the user signed in with, encrypted and authenticated with
Fernet under a key derived from the service's secret key (``derived_keys``), so it can be
neither read nor forged; Fernet's timestamp makes it expire after ``SESSION_SECONDS``. Every
request re-checks the token against the store, so a revoked token ends its sessions at once.
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

    def seal(self, api_token: str) -> str:
        """The cookie value carrying ``api_token``."""
        payload = json.dumps({"token": api_token}).encode("utf-8")
        return self._fernet.encrypt(payload).decode("ascii")

    def open(self, cookie: str | None) -> str | None:
        """The API token in a cookie that is genuine and not expired, else None."""
        if not cookie:
            return None
        try:
            payload = self._fernet.decrypt(cookie.encode("ascii"), ttl=SESSION_SECONDS)
            token = json.loads(payload).get("token")
        except (InvalidToken, UnicodeError, ValueError, AttributeError):
            return None
        return token if isinstance(token, str) and token else None

    def login_csrf(self, nonce: str) -> str:
        """The sign-in form's token for the value of its cookie (apart from sessions')."""
        return self.csrf_token("login:" + nonce)

    def csrf_token(self, cookie: str) -> str:
        return hmac.new(self._csrf_key, cookie.encode("ascii"), hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie: str | None, sent: str | None) -> bool:
        if not cookie or not sent:
            return False
        return hmac.compare_digest(self.csrf_token(cookie), sent)
