"""Backfills through the SDK (``client.definitions.backfill``, ``client.backfills``) and the
CLI (``scorecast definitions backfill|backfills|cancel-backfill``) against a real server."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from scorecast_client import AsyncClient, Conflict, WaitTimeout
from sdk_server import DEMO_DATA, Server, file_spec, run_cli

pytestmark = pytest.mark.e2e

DAILY_0300 = {"minute": [0], "hour": [3], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}


def _definition(server: Server, deployment: str, name: str) -> str:
    shutil.copy(DEMO_DATA, server.files / f"{name}-in.csv")
    (server.files / name).mkdir()
    spec = {
        **file_spec(
            server, deployment, f"{name}-in.csv", f"{name}/{{scheduled_time:%Y-%m-%d}}.csv"
        ),
        "name": name,
        "enabled": False,
        "schedule": DAILY_0300,
    }
    daily = (server.files / name).as_uri() + "/{scheduled_time:%Y-%m-%d}.csv"
    spec["outputSettings"] = {"type": "filesystem", "url": daily}
    with server.client() as client:
        return client.definitions.create(spec)["id"]


def test_sdk_backfill_list_get_wait_and_cancel(server: Server, deployment: str) -> None:
    definition_id = _definition(server, deployment, "sdk-backfill")
    with server.client() as client:
        made = client.definitions.backfill(
            definition_id, "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z", max_concurrent=2
        )
        assert made["progress"]["total"] == 3 and made["status"] == "running"
        seen: list[str] = []
        done = client.backfills.wait(
            definition_id, made["id"], timeout=300, on_progress=lambda b: seen.append(b["status"])
        )
        assert done["status"] == "completed" and done["progress"]["done"] == 3, done
        assert seen[-1] == "completed"
        assert [b["id"] for b in client.backfills.list(definition_id)] == [made["id"]]
        assert client.backfills.get(definition_id, made["id"])["finished"] is not None
        with pytest.raises(Conflict):
            client.backfills.cancel(definition_id, made["id"])
    written = sorted(p.name for p in (server.files / "sdk-backfill").iterdir())
    assert written == ["2026-01-01.csv", "2026-01-02.csv", "2026-01-03.csv"]


def test_wait_polls_at_most_once_a_second_whatever_the_interval(
    server: Server, deployment: str
) -> None:
    definition_id = _definition(server, deployment, "sdk-backfill-interval")
    with server.client() as client:
        made = client.definitions.backfill(  # a year of daily runs, one at a time: minutes
            definition_id, "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", max_concurrent=1
        )
        try:
            polls: list[str] = []
            with pytest.raises(WaitTimeout):
                client.backfills.wait(
                    definition_id,
                    made["id"],
                    timeout=2,
                    interval=0,
                    on_progress=lambda b: polls.append(b["status"]),
                )
            assert 1 <= len(polls) <= 4, len(polls)

            async def wait_async() -> int:
                seen: list[str] = []
                async with AsyncClient(server.endpoint, server.token) as aclient:
                    with pytest.raises(WaitTimeout):
                        await aclient.backfills.wait(
                            definition_id,
                            made["id"],
                            timeout=2,
                            interval=0,
                            on_progress=lambda b: seen.append(b["status"]),
                        )
                return len(seen)

            assert 1 <= asyncio.run(wait_async()) <= 4
        finally:
            client.backfills.cancel(definition_id, made["id"])


def test_cli_backfill_commands(server: Server, deployment: str, config_dir: Path) -> None:
    _definition(server, deployment, "cli-backfill")
    waited = run_cli(
        "definitions", "backfill", "cli-backfill", "--start", "2026-02-01", "--end",
        "2026-02-03", "--max-concurrent", "2", "--wait", "--json",
        server=server, config=config_dir,
    )  # fmt: skip
    assert waited.returncode == 0, waited.stderr
    backfill = json.loads(waited.stdout)
    assert backfill["status"] == "completed" and backfill["progress"]["done"] == 2
    listed = run_cli("definitions", "backfills", "cli-backfill", server=server, config=config_dir)
    assert listed.returncode == 0, listed.stderr
    assert backfill["id"] in listed.stdout and "completed" in listed.stdout

    started = run_cli(
        "definitions", "backfill", "cli-backfill", "--start", "2026-03-01", "--end",
        "2026-03-11", "--quiet", server=server, config=config_dir,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    backfill_id = started.stdout.strip()
    cancelled = run_cli(
        "definitions", "cancel-backfill", "cli-backfill", backfill_id,
        server=server, config=config_dir,
    )  # fmt: skip
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled" in cancelled.stdout

    bad = run_cli(
        "definitions", "backfill", "cli-backfill", "--start", "2026-03-11", "--end",
        "2026-03-01", server=server, config=config_dir,
    )  # fmt: skip
    assert bad.returncode != 0 and "end" in bad.stderr and "Traceback" not in bad.stderr
