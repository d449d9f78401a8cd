"""Real Chromium for the browser tests: Debian's ``chromium`` driven by Playwright.

``chromium_path()`` is the browser's path, or skips the test (fails it under ``CI=true``, where
``scripts/services.sh`` installs the package). ``launch(playwright)`` starts it headless with
the flags that keep it off the network: no background networking, no component updates, no
sync, so every request a page makes is one the page asked for.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from services import in_ci

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: axe-core, installed from npm by scripts/services.sh next to Azurite
AXE = Path(__file__).resolve().parents[2] / ".cache" / "node" / "node_modules" / "axe-core"


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    message = "Chromium is not installed (scripts/services.sh installs Debian's chromium)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def axe_script() -> Path:
    script = AXE / "axe.min.js"
    if script.is_file():
        return script
    message = "axe-core is not installed (scripts/services.sh installs it from npm)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
