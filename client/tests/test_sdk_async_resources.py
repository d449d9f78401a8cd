"""Every resource of ``AsyncClient`` against a real ``scorecast serve``: what ``Client`` offers,
awaited (create, get, list over every page, update, delete, and errors as the exception tree)."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from scorecast_client import (
    AsyncClient,
    AsyncJob,
    BackfillData,
    Conflict,
    Invalid,
    NotFound,
    Unauthorized,
)
from scorecast_client._catalog import CREDENTIALS
from scorecast_client._pages import aiterate
from sdk_server import DEMO_DATA, DEMO_MODEL, Server, file_spec

pytestmark = pytest.mark.e2e

T = TypeVar("T")

#: a schedule that never fires while a test runs: 03:00 UTC every day (backfilled on purpose)
DAILY_0300 = {"minute": [0], "hour": [3], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}
MISSING = "0" * 24


def _run(server: Server, scenario: Callable[[AsyncClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AsyncClient(server.endpoint, server.token) as client:
            return await scenario(client)

    return asyncio.run(main())


def test_async_deployments_credentials_data_stores_and_datasets(server: Server) -> None:
    async def scenario(client: AsyncClient) -> None:
        assert "version" in json.dumps(await client.version()).lower()
        await client.check()
        made = await client.deployments.register(
            DEMO_MODEL,
            target="readmitted",
            target_type="binary",
            positive_class="yes",
            label="async-registered",
        )
        found = [d["id"] async for d in client.deployments.list(search="async-reg")]
        assert found == [made["id"]]
        assert (await client.deployments.get(made["id"]))["model"]["targetName"] == "readmitted"
        await client.deployments.delete(made["id"])
        with pytest.raises(NotFound):
            await client.deployments.get(made["id"])

        secrets = [f"async-secret-{n}" for n in range(3)]
        credentials = [
            await client.credentials.create(
                {"name": f"async-{n}", "credentialType": "basic", "user": "u", "password": secret}
            )
            for n, secret in enumerate(secrets)
        ]
        assert not any(secret in json.dumps(credentials) for secret in secrets)
        ids = {c["credentialId"] for c in credentials}
        assert ids <= {c["credentialId"] async for c in client.credentials.list()}
        # one item a page: the async listing follows ``next`` to the last page
        paged = [
            c["credentialId"]
            async for c in aiterate(client._transport, CREDENTIALS.listing(limit=1))
        ]
        assert ids <= set(paged) and len(paged) == len(set(paged))
        first = credentials[0]["credentialId"]
        assert (await client.credentials.get(first))["name"] == "async-0"
        with pytest.raises(Invalid) as invalid:
            await client.credentials.create({"name": "bad", "credentialType": "nope"})
        assert "credentialType" in json.dumps(invalid.value.errors)
        for credential_id in ids:
            await client.credentials.delete(credential_id)
        with pytest.raises(NotFound):
            await client.credentials.get(first)

        store = await client.data_stores.create(
            {
                "type": "jdbc",
                "canonicalName": "async warehouse",
                "params": {"driverId": "postgresql", "jdbcUrl": "jdbc:postgresql://db.example/a"},
            }
        )
        assert store["id"] in {s["id"] async for s in client.data_stores.list()}
        assert (await client.data_stores.get(store["id"]))["canonicalName"] == "async warehouse"
        await client.data_stores.delete(store["id"])
        with pytest.raises(NotFound):
            await client.data_stores.delete(store["id"])

        dataset = await client.datasets.upload(DEMO_DATA, name="async patients")
        assert dataset["name"] == "async patients" and dataset["rowCount"] == 500
        assert dataset["datasetId"] in {d["datasetId"] async for d in client.datasets.list()}
        assert (await client.datasets.get(dataset["datasetId"]))["rowCount"] == 500
        await client.datasets.delete(dataset["datasetId"])
        with pytest.raises(NotFound):
            await client.datasets.get(dataset["datasetId"])

    _run(server, scenario)

    async def wrong_token() -> None:
        async with AsyncClient(server.endpoint, "not-a-token") as client:
            await client.check()

    with pytest.raises(Unauthorized):
        asyncio.run(wrong_token())


def test_async_definitions_backfills_and_jobs(server: Server, deployment: str) -> None:
    name = "async-daily"
    shutil.copy(DEMO_DATA, server.files / f"{name}-in.csv")
    (server.files / name).mkdir()
    spec = {
        **file_spec(server, deployment, f"{name}-in.csv", f"{name}-out.csv"),
        "name": name,
        "enabled": False,
        "schedule": DAILY_0300,
    }
    daily = (server.files / name).as_uri() + "/{scheduled_time:%Y-%m-%d}.csv"
    spec["outputSettings"] = {"type": "filesystem", "url": daily}

    async def scenario(client: AsyncClient) -> None:
        created = await client.definitions.create(spec)
        with pytest.raises(Conflict):
            await client.definitions.create(spec)
        assert await client.definitions.find(name) == await client.definitions.get(created["id"])
        listed = [d["id"] async for d in client.definitions.list(deployment_id=deployment)]
        assert created["id"] in listed
        assert (await client.definitions.enable(created["id"]))["enabled"] is True
        assert (await client.definitions.disable(created["id"]))["enabled"] is False
        preview = await client.definitions.preview(created["id"], count=2)
        assert [f["utc"][11:16] for f in preview["fires"]] == ["03:00", "03:00"]
        ad_hoc = await client.definitions.preview_schedule(
            DAILY_0300, after="2026-03-28T12:00:00Z", count=1
        )
        assert ad_hoc["fires"][0]["utc"].startswith("2026-03-29T03:00")
        assert [f async for f in client.definitions.fires(created["id"])] == []

        made = await client.definitions.backfill(
            created["id"], "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z", max_concurrent=2
        )
        assert made["progress"]["total"] == 2
        seen: list[str] = []

        async def note(backfill: BackfillData) -> None:
            seen.append(backfill["status"])

        done = await client.backfills.wait(created["id"], made["id"], timeout=300, on_progress=note)
        assert done["status"] == "completed" and seen[-1] == "completed", done
        assert [b["id"] async for b in client.backfills.list(created["id"])] == [made["id"]]
        assert (await client.backfills.get(created["id"], made["id"]))["finished"] is not None
        with pytest.raises(Conflict):
            await client.backfills.cancel(created["id"], made["id"])
        fired = [f async for f in client.definitions.fires(created["id"])]
        assert len(fired) == 2

        job = await (await client.definitions.run(created["id"])).wait(timeout=300)
        assert job.data["batchPredictionJobDefinition"] == {"id": created["id"], "name": name}
        by_definition = [
            j.id async for j in client.jobs.list(definition_id=created["id"], page_size=1)
        ]
        assert len(by_definition) == 3 and job.id in by_definition
        assert (await client.jobs.wait(job.id, timeout=300)).status == "COMPLETED"
        assert await client.jobs.logs(job.id) == job.logs
        with pytest.raises(Conflict):
            await job.abort()
        await client.definitions.delete(created["id"])
        with pytest.raises(NotFound):
            await client.definitions.find(name)

    _run(server, scenario)
    written = sorted(p.name for p in (server.files / name).iterdir())
    assert written[:2] == ["2026-01-01.csv", "2026-01-02.csv"]


def test_async_job_upload_stream_and_download_from_files(
    server: Server, deployment: str, tmp_path: Path
) -> None:
    async def scenario(client: AsyncClient) -> tuple[bytes, bytes, int]:
        job = await client.jobs.create_local(deployment, passthroughColumns=["patient_id"])
        assert isinstance(job, AsyncJob)
        await client.jobs.upload(job, io.BytesIO(DEMO_DATA.read_bytes()))
        await job.wait(timeout=300)
        async with client.jobs.stream(job.id) as chunks:
            streamed = b"".join([chunk async for chunk in chunks])
        into = io.BytesIO()
        size = await job.download(into)
        with pytest.raises(NotFound):
            await client.jobs.get(MISSING)
        with pytest.raises(Invalid):
            await client.jobs.submit({"deploymentId": deployment, "intakeSettings": {}})
        return streamed, into.getvalue(), size

    streamed, downloaded, size = _run(server, scenario)
    assert streamed == downloaded and size == len(downloaded)
    lines = downloaded.decode().splitlines()
    assert len(lines) == 501 and "patient_id" in lines[0]


def test_async_notification_channels_and_policies(server: Server) -> None:
    secret = "whsec-async-Secret-Value"

    async def scenario(client: AsyncClient) -> None:
        channel = await client.notification_channels.create(
            {
                "name": "async hook",
                "channelType": "Webhook",
                "payloadUrl": "https://hooks.example.com/async",
                "secretToken": secret,
            }
        )
        assert channel["hasSecretToken"] and secret not in json.dumps(channel)
        named = [c["id"] async for c in client.notification_channels.list(name_part="async h")]
        assert named == [channel["id"]]
        assert (await client.notification_channels.get(channel["id"]))["name"] == "async hook"
        policy = await client.notification_policies.create(
            {"name": "all", "channelId": channel["id"], "eventGroup": "batch_predictions.all"}
        )
        policies = client.notification_policies.list(channel_id=channel["id"])
        assert [p["id"] async for p in policies] == [policy["id"]]
        assert (await client.notification_policies.get(policy["id"]))["channelId"] == channel["id"]
        paused = await client.notification_policies.update(policy["id"], {"active": False})
        assert paused["active"] is False
        renamed = await client.notification_channels.update(channel["id"], {"name": "renamed"})
        assert renamed["name"] == "renamed" and renamed["policyCount"] == 1
        queued = await client.notification_channels.test(channel["id"])
        deliveries = client.notification_channels.deliveries(channel["id"])
        assert queued["id"] in {d["id"] async for d in deliveries}
        with pytest.raises(Invalid) as invalid:
            await client.notification_policies.create(
                {"name": "x", "channelId": channel["id"], "eventType": "nope"}
            )
        assert "eventType" in json.dumps(invalid.value.errors)
        await client.notification_policies.delete(policy["id"])
        with pytest.raises(NotFound):
            await client.notification_policies.get(policy["id"])
        await client.notification_channels.delete(channel["id"])
        with pytest.raises(NotFound):
            await client.notification_channels.get(channel["id"])

    _run(server, scenario)
