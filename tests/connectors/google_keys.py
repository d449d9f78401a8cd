"""Google service-account keys for tests: well-formed, with a real RSA key, so that google-auth
would sign an assertion and send it to the key's ``token_uri``."""

from __future__ import annotations

from typing import Any


def service_account_key(token_uri: str) -> dict[str, Any]:
    """A well-formed key (a real RSA key, so google-auth would sign and send an assertion)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "k",
        "private_key": pem,
        "client_email": "robot@p.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
