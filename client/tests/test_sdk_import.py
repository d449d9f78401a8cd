"""Importing the SDK (and building its CLI) brings in none of the server's heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pyarrow", "pandas", "numpy", "sqlalchemy", "onnxruntime", "sklearn", "scorecast")

PROBE = f"""
import json, sys
import scorecast_client
from scorecast_client import Client
from scorecast_client.cli import _client_app
_client_app()
print(json.dumps(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def test_importing_the_client_imports_nothing_heavy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
