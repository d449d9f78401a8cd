"""Encryption of secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``SCORECAST_SECRET_KEY`` (``settings.secret_key``) or, when that is unset, from
the key file ``$SCORECAST_HOME/secret.key``, generated on first use with mode 0600.
``SCORECAST_SECRET_KEY`` may list several keys separated by commas: the first encrypts, all
decrypt (key rotation). A secret's clear text is never logged and never part of an exception.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.errors import InvalidInput, ScorecastError

KEY_FILE_NAME = home_layout.SECRET_KEY_FILE

_cache: dict[tuple[str, str | None], SecretBox] = {}
_cache_lock = threading.Lock()


class SecretBox:
    """Encrypts and decrypts JSON objects with the configured key(s)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box for ``settings`` (cached per home and key setting)."""
        cache_key = (str(settings.home), settings.secret_key)
        with _cache_lock:
            box = _cache.get(cache_key)
            if box is None:
                box = cls(_keys(settings))
                _cache[cache_key] = box
            return box

    def encrypt(self, fields: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(fields, separators=(",", ":")).encode("utf-8"))

    def decrypt(self, ciphertext: bytes) -> dict[str, Any]:
        """The JSON object; ScorecastError (a server-side 500) when the key does not fit."""
        try:
            clear = self._fernet.decrypt(bytes(ciphertext))
        except InvalidToken:
            raise ScorecastError(
                "a stored secret cannot be decrypted: SCORECAST_SECRET_KEY or the key file "
                f"{KEY_FILE_NAME} changed since it was stored"
            ) from None
        value = json.loads(clear)
        assert isinstance(value, dict)
        return value


def signing_keys(settings: Settings) -> list[bytes]:
    """HMAC keys for what the service signs (prepared models), one per configured secret key
    (the first signs): derived from each key, so that no key serves two purposes."""
    return derived_keys(settings, b"scorecast prepared models")


def derived_keys(settings: Settings, purpose: bytes) -> list[bytes]:
    """32-byte keys for one ``purpose``, one per configured secret key (the first is current),
    each an HMAC-SHA256 of the purpose under that key: no key serves two purposes."""
    return [
        hmac.new(base64.urlsafe_b64decode(key), purpose, hashlib.sha256).digest()
        for key in _keys(settings)
    ]


def key_file(settings: Settings) -> Path:
    return home_layout.secret_key_file(settings.home)


def _keys(settings: Settings) -> list[bytes]:
    if settings.secret_key:
        keys = [part.strip().encode("utf-8") for part in settings.secret_key.split(",")]
        for key in keys:
            _check_key(key, "SCORECAST_SECRET_KEY")
        return keys
    return [_key_from_file(key_file(settings))]


def _key_from_file(path: Path) -> bytes:
    """Read the key file, creating it (0600, exclusively) when it does not exist yet;
    ``InvalidInput`` naming the file when it cannot be read or holds no key."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = _read_key(path)
        if not key:  # another process created it and is writing it right now
            key = _wait_for_key(path)
        _check_key(key, str(path))
        return key
    except OSError as exc:
        raise _unreadable(path, exc) from None
    key = Fernet.generate_key()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except OSError as exc:  # a folder, a file without read rights
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: OSError) -> InvalidInput:
    return InvalidInput(
        f"{path}: cannot use the key file: {exc.strerror}", {"secretKey": "unreadable key file"}
    )


def _wait_for_key(path: Path) -> bytes:
    event = threading.Event()
    for _ in range(100):
        key = _read_key(path)
        if key:
            return key
        event.wait(0.05)
    return b""


def _check_key(key: bytes, where: str) -> None:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise InvalidInput(
            f"{where}: not a Fernet key (32 url-safe base64-encoded bytes; create one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')",
            {"secretKey": "is not a Fernet key"},
        ) from None
