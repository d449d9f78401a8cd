"""Helpers of the connector end-to-end tests: the emulators of the connector suite, input data
with the predictions the model must give for it, and a recorder of every API answer.

The emulators are started by ``tests/connectors/emulators.py`` (the same code as the contract
suite's fixtures), imported from that folder.
"""

from __future__ import annotations

import base64
import io
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

_CONNECTOR_TESTS = str(Path(__file__).resolve().parents[1] / "connectors")
if _CONNECTOR_TESTS not in sys.path:
    sys.path.append(_CONNECTOR_TESTS)

import emulators  # noqa: E402  (tests/connectors/emulators.py)

__all__ = [
    "PREDICTION_COLUMNS",
    "AnswerLog",
    "Secrets",
    "check_predictions",
    "emulators",
    "features",
    "to_csv",
]

TARGET = "label"
PREDICTION_COLUMNS = {
    "label_no_PREDICTION",
    "label_yes_PREDICTION",
    "label_PREDICTION",
    "THRESHOLD",
    "POSITIVE_CLASS",
}


@dataclass(frozen=True)
class Secrets:
    """Secret strings, distinct per test session, that must never leave the credential store."""

    aws_access_key_id: str = field(default_factory=lambda: "AKIAE2E" + secrets.token_hex(6).upper())
    aws_secret_access_key: str = field(default_factory=lambda: "awsSecret" + secrets.token_hex(16))
    azure_bad_account_key: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(48)).decode()
    )
    gcp_private_key: str = field(default_factory=lambda: "gcpPrivate" + secrets.token_hex(16))
    db_password: str = field(default_factory=lambda: "dbPassword" + secrets.token_hex(12))

    def all(self) -> dict[str, str]:
        """The secrets by name, including the Azurite account key the credentials hold."""
        return {
            "aws_access_key_id": self.aws_access_key_id,
            "aws_secret_access_key": self.aws_secret_access_key,
            "azure_account_key": emulators.AZURITE_KEY,
            "azure_bad_account_key": self.azure_bad_account_key,
            "gcp_private_key": self.gcp_private_key,
            "db_password": self.db_password,
        }

    def gcp_key(self) -> dict[str, str]:
        """A service-account key as Google issues them (the emulator only reads project_id)."""
        return {
            "type": "service_account",
            "project_id": "e2e-project",
            "private_key_id": "0123456789abcdef",
            "private_key": (
                "-----BEGIN PRIVATE KEY-----\n"
                + self.gcp_private_key
                + "\n-----END PRIVATE KEY-----\n"
            ),
            "client_email": "scorer@e2e-project.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": "https://oauth2.googleapis.com/token",
        }


class AnswerLog:
    """Every HTTP answer the tests received, as text (headers and body), for the leak check.

    Attach it to the datarobot client (``attach_requests``) and to httpx clients
    (``event_hooks=log.httpx_hooks()``).
    """

    def __init__(self) -> None:
        self.answers: list[str] = []

    def _record(self, method: str, url: str, status: int, headers: Any, body: bytes) -> None:
        head = "\n".join(f"{name}: {value}" for name, value in headers.items())
        text = body.decode("utf-8", errors="replace")
        self.answers.append(f"{method} {url} -> {status}\n{head}\n\n{text}")

    def attach_requests(self, session: Any) -> None:
        """Record the answers of a ``requests.Session`` (the datarobot client is one)."""

        def hook(response: Any, *args: Any, **kwargs: Any) -> None:
            self._record(
                response.request.method,
                response.url,
                response.status_code,
                response.headers,
                response.content,
            )

        if hook not in session.hooks["response"]:
            session.hooks["response"].append(hook)

    def httpx_hooks(self) -> dict[str, list[Any]]:
        def hook(response: httpx.Response) -> None:
            response.read()
            self._record(
                response.request.method,
                str(response.url),
                response.status_code,
                response.headers,
                response.content,
            )

        return {"response": [hook]}

    def find(self, secret: str) -> list[str]:
        """The answers that contain ``secret``."""
        return [answer[:300] for answer in self.answers if secret in answer]


def features(rows: int, seed: int, first_id: int = 1) -> pd.DataFrame:
    """``id``, ``num_a``, ``num_b`` for the binary test model (``label`` yes when a + b > 0)."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, 2)).round(4)
    return pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + rows),
            "num_a": values[:, 0],
            "num_b": values[:, 1],
        }
    )


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def expected_yes(model: Path, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    """The probability of ``yes`` that the ONNX model gives each row of ``frame``."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    inputs = {
        name: frame[name].to_numpy(dtype=np.float32).reshape(-1, 1) for name in ("num_a", "num_b")
    }
    _labels, probabilities = session.run(None, inputs)
    return np.asarray(probabilities)[:, 1]


def check_predictions(model: Path, inputs: pd.DataFrame, scored: pd.DataFrame) -> None:
    """``scored`` holds, row for row, the model's predictions for ``inputs``."""
    assert set(scored.columns) >= PREDICTION_COLUMNS, list(scored.columns)
    assert len(scored) == len(inputs)
    yes = expected_yes(model, inputs)
    got = scored["label_yes_PREDICTION"].to_numpy(dtype=float)
    np.testing.assert_allclose(got, yes, atol=1e-5)
    np.testing.assert_allclose(
        scored["label_no_PREDICTION"].to_numpy(dtype=float), 1 - yes, atol=1e-5
    )
    threshold = scored["THRESHOLD"].to_numpy(dtype=float)
    labels = np.where(got > threshold, "yes", "no")
    assert scored["label_PREDICTION"].tolist() == labels.tolist()
    assert set(scored["POSITIVE_CLASS"]) == {"yes"}


def read_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data))
