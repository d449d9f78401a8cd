"""Importing the SDK (and building its CLI) brings in none of the server's heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


#: Distributions that installing scorecast-client must never bring in.
HEAVY_DISTRIBUTIONS = (
    "pyarrow",
    "pandas",
    "numpy",
    "sqlalchemy",
    "onnxruntime",
    "scikit-learn",
    "pydantic",
    "scorecast",
)


def test_installing_the_client_brings_in_nothing_heavy() -> None:
    """The closure of scorecast-client's requirements, as installed here, has no heavy package."""
    closure = _requirement_closure("scorecast-client")
    assert "httpx" in closure
    assert closure.isdisjoint(HEAVY_DISTRIBUTIONS), sorted(closure & set(HEAVY_DISTRIBUTIONS))


def _requirement_closure(root: str) -> set[str]:
    """The distributions ``root`` requires here, directly or not (markers evaluated, no extras)."""
    seen: set[str] = set()
    pending = [root]
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    seen.discard(canonicalize_name(root))
    return seen
