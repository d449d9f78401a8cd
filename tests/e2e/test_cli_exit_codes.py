"""The ``scorecast`` command ends with the exit code its command chose: ``definitions backfill
--wait`` whose fire times all failed prints ``0 done, 2 failed`` and exits 1 (as documented),
not 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from serving import ServeProcess, register_demo_model

pytestmark = pytest.mark.e2e

RANGE = ("--start", "2026-03-01T00:00:00Z", "--end", "2026-03-03T00:00:00Z", "--wait")
DAILY = {"minute": [0], "hour": [3], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}


def test_a_backfill_waited_for_whose_times_failed_exits_1(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "files"
    (root / "out").mkdir(parents=True)  # no input files: every fire time fails
    url = f"sqlite:///{home / 'scorecast.db'}"
    server = ServeProcess(home, url, env={"SCORECAST_FILE_ROOTS": str(root)}).start()
    try:
        deployment = register_demo_model(server)
        with server.http() as http:
            answer = http.post(
                "batchPredictionJobDefinitions/",
                json={
                    "name": "nightly",
                    "enabled": False,
                    "schedule": DAILY,
                    "deploymentId": deployment,
                    "intakeSettings": {
                        "type": "filesystem",
                        "url": root.as_uri() + "/in/{scheduled_time:%Y-%m-%d}.csv",
                    },
                    "outputSettings": {
                        "type": "filesystem",
                        "url": root.as_uri() + "/out/{scheduled_time:%Y-%m-%d}.csv",
                    },
                },
            )
            assert answer.status_code == 202, answer.text
        env = {
            **os.environ,
            "SCORECAST_ENDPOINT": server.endpoint,
            "SCORECAST_TOKEN": server.token or "",
            "SCORECAST_CONFIG_DIR": str(tmp_path / "config"),
        }
        result = subprocess.run(
            [sys.executable, "-m", "scorecast", "definitions", "backfill", "nightly", *RANGE],
            capture_output=True,
            text=True,
            timeout=240,
            env=env,
            check=False,
        )
    finally:
        server.stop()
    assert "0 done, 2 failed" in result.stdout + result.stderr, result
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
