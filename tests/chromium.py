"""Debian's Chromium driven by Playwright, for the browser tests.

``launch(playwright)`` starts ``/usr/bin/chromium`` (``SCORECAST_TEST_CHROMIUM`` overrides the
path; scripts/services.sh installs it), headless, without any of Chromium's own background
traffic. When it is missing the test is skipped locally and FAILS under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from services import in_ci

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = os.environ.get("SCORECAST_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    # No name but the loopback one resolves: the network is cut off for every other host.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


def require_chromium() -> str:
    """The Chromium executable, or skip (locally) / fail (CI=true) when it is missing."""
    found = shutil.which(CHROMIUM) if not os.path.isabs(CHROMIUM) else CHROMIUM
    if found and os.access(found, os.X_OK):
        return found
    message = f"Chromium is not installed at {CHROMIUM} (scripts/services.sh installs it)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


#: axe-core, installed from npm by scripts/services.sh next to Azurite
AXE_SCRIPT = Path(__file__).resolve().parents[1] / ".cache/node/node_modules/axe-core/axe.min.js"


def axe_script() -> Path:
    """axe-core's script, or skip (locally) / fail (CI=true) when it is missing."""
    if AXE_SCRIPT.is_file():
        return AXE_SCRIPT
    message = "axe-core is not installed (scripts/services.sh installs it from npm)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=require_chromium(), headless=True, args=ARGS)


def watch(page: Any, requests: list[str], errors: list[str]) -> Any:
    """``page``, recording every URL it requests and every error it logs or raises."""
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical accessibility violations on ``page``."""
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check_page(page: Any, where: str, found: list[str]) -> None:
    """Add ``page``'s serious axe violations to ``found``, named by ``where``; keep a
    screenshot ``console-<where>.png`` when ``SCORECAST_SCREENSHOTS`` names a folder."""
    found += [f"{where}: {v}" for v in serious_violations(page)]
    shots = os.environ.get("SCORECAST_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / f"console-{where}.png"), full_page=True)
