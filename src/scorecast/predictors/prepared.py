"""A model's prepared form: what a safe loader produced, pickled once and signed by the service.

Loading a ``.skops`` file runs skops' trusted-types check, which imports some 400 modules and
walks them for every object: about 0.6 s and 20+ MB per job process for a small pipeline
(measured: a one-hot + logistic regression pipeline, 0.63 s and +21 MB; a 100-tree
HistGradientBoosting, 0.66 s and +24 MB), paid before a job's first chunk. The object the check
let through is pickled next to the artifact (``<artifact>.prepared``), and the next process
unpickles that instead (about 1 ms).

A pickle runs code when loaded, so a prepared file is only ever loaded when it carries a valid
HMAC-SHA256 under a key derived from the service's secret key (``service.secrets``): only the
service itself can have written it, from an object its safe loader produced. The signature also
binds the artifact's SHA-256 and the versions of the libraries that pickled it; a file that does
not verify, belongs to another artifact or was written by other library versions is ignored
(and replaced), and the artifact is loaded the safe way again.

Preparation is on only in a process that called ``configure`` with the signing keys (the job
processes and the registration child); elsewhere ``read`` finds nothing and ``write`` does
nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger("scorecast.predictors")

SUFFIX = ".prepared"
#: 2: files the skops check of before wrote (it trusted any name under ``sklearn.``, see
#: ``predictors.sklearn_skops``) are ignored, and their artifacts checked again
_MAGIC = b"scorecast-prepared 2\n"
#: libraries whose versions a pickled scikit-learn object depends on
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "pandas")
_keys: list[bytes] = []


def configure(keys: Sequence[bytes]) -> None:
    """Turn preparation on in this process: the first key signs, any of them verifies."""
    _keys[:] = list(keys)


def prepared_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + SUFFIX)


def read(artifact: Path, sha256: str) -> Any | None:
    """The object prepared for ``artifact`` (whose content hash is ``sha256``), or None when
    preparation is off, there is no prepared file, or it does not verify for this artifact and
    these library versions."""
    path = prepared_path(artifact)
    if not _keys or not path.is_file():
        return None
    data = path.read_bytes()
    header, signature, payload = _split(data)
    if header is None or not any(
        hmac.compare_digest(signature, _sign(key, header, payload)) for key in _keys
    ):
        log.warning("ignoring %s: its signature does not verify", path.name)
        return None
    if header != _header(sha256):
        log.info("ignoring %s: written for another artifact or library versions", path.name)
        return None
    try:
        return pickle.loads(payload)
    except Exception as exc:  # signed by us, yet unreadable: load the artifact the safe way
        log.warning("ignoring %s: it cannot be unpickled (%s)", path.name, exc)
        return None


def write(artifact: Path, sha256: str, value: Any) -> None:
    """Store ``value`` as ``artifact``'s prepared form (atomically; best effort: a folder that
    cannot be written only means the next process loads the artifact the slow way)."""
    if not _keys:
        return
    header = _header(sha256)
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    signature = _sign(_keys[0], header, payload)
    path = prepared_path(artifact)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    except OSError as exc:
        log.info("could not store %s: %s", path.name, exc)
        return
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(_MAGIC + header + b"\n" + signature.hex().encode("ascii") + b"\n")
            handle.write(payload)
        os.replace(temporary, path)
    except OSError as exc:
        log.info("could not store %s: %s", path.name, exc)
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _header(sha256: str) -> bytes:
    versions = {"python": sys.version.split()[0]}
    for name in _LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return json.dumps({"artifactSha256": sha256, "versions": versions}, sort_keys=True).encode()


def _split(data: bytes) -> tuple[bytes | None, bytes, bytes]:
    """(header, signature, payload) of a prepared file; header None when it is malformed."""
    if not data.startswith(_MAGIC):
        return None, b"", b""
    parts = data[len(_MAGIC) :].split(b"\n", 2)
    if len(parts) != 3:
        return None, b"", b""
    header, signature, payload = parts
    try:
        return header, bytes.fromhex(signature.decode("ascii")), payload
    except ValueError:
        return None, b"", b""


def _sign(key: bytes, header: bytes, payload: bytes) -> bytes:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(len(header).to_bytes(8, "big"))
    mac.update(header)
    mac.update(payload)
    return mac.digest()
