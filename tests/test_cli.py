"""The real ``scorecast`` console script on bad input: one line on stderr, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _scorecast(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("scorecast")
    command = [exe] if exe else [sys.executable, "-c", "from scorecast.cli.main import run; run()"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--no-such-flag"],
        ["serve", "--port", "99999"],
        ["serve", "--workers", "0"],
        ["schedule", "next"],
    ],
)
def test_usage_errors_are_one_message_without_traceback(args: list[str]) -> None:
    result = _scorecast(*args)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


#: commands that open the store first (serve migrates it in a child process)
STORE_COMMANDS = [("token", "create"), ("serve", "--port", "0")]


@pytest.mark.parametrize("command", STORE_COMMANDS)
def test_an_unreachable_store_is_named_without_traceback_or_password(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # port 1 on loopback: nothing listens there, the connection is refused at once
    env = {
        "SCORECAST_HOME": str(tmp_path),
        "SCORECAST_DATABASE_URL": "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/x",
    }
    result = _scorecast(*command, env=env)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "cannot use the store" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", STORE_COMMANDS)
def test_a_malformed_store_url_is_refused_without_echoing_it(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {"SCORECAST_HOME": str(tmp_path), "SCORECAST_DATABASE_URL": "::not a url s3cret-pw"}
    result = _scorecast(*command, env=env)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert "SCORECAST_DATABASE_URL" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
