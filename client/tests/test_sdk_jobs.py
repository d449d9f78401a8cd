"""The SDK's jobs against a real ``scorecast serve``: score, list, wait, abort, download."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from scorecast_client import AsyncClient, Conflict, Invalid, JobFailed, NotFound
from sdk_server import DEMO_DATA, Server

pytestmark = pytest.mark.e2e


def test_score_writes_the_result_and_reports_progress(
    server: Server, deployment: str, tmp_path: Path
) -> None:
    seen: list[str] = []
    target = tmp_path / "scored.csv"
    with server.client() as client:
        job = client.jobs.score(
            deployment,
            DEMO_DATA,
            target,
            on_progress=lambda current: seen.append(current.status),
            passthroughColumns=["patient_id"],
        )
    assert job.status == "COMPLETED"
    assert seen[-1] == "COMPLETED"
    lines = target.read_text().splitlines()
    assert len(lines) == 501
    assert lines[0].split(",")[0].strip('"') == "patient_id"
    assert not list(tmp_path.glob(".*.part"))


def test_score_gives_the_same_bytes_as_the_official_client(
    server: Server, deployment: str, tmp_path: Path
) -> None:
    datarobot = pytest.importorskip("datarobot")
    datarobot.Client(endpoint=server.endpoint, token=server.token)
    official = tmp_path / "official.csv"
    datarobot.BatchPredictionJob.score_to_file(deployment, str(DEMO_DATA), str(official))
    ours = tmp_path / "ours.csv"
    with server.client() as client:
        client.jobs.score(deployment, DEMO_DATA, ours)
    assert ours.read_bytes() == official.read_bytes()


def test_list_follows_every_page_with_filters(server: Server, deployment: str) -> None:
    with server.client() as client:
        made = {client.jobs.create_local(deployment).id for _ in range(3)}
        for job_id in made:
            client.jobs.abort(job_id)
        listed = [job.id for job in client.jobs.list(status="ABORTED", page_size=1)]
        assert made <= set(listed)
        assert len(listed) == len(set(listed))
        statuses = {job.status for job in itertools.islice(client.jobs.list(page_size=2), 10)}
        assert statuses


def test_wait_raises_with_the_servers_status_details(server: Server, deployment: str) -> None:
    with server.client() as client:
        job = client.jobs.create_local(deployment)
        aborted = client.jobs.abort(job.id)
        with pytest.raises(JobFailed) as failure:
            client.jobs.wait(job.id, timeout=120)
        with pytest.raises(Conflict):
            client.jobs.abort(job.id)
    assert failure.value.status == "ABORTED"
    assert failure.value.status_details == aborted.data["statusDetails"]
    assert job.id in str(failure.value)


def test_a_bad_spec_is_invalid_with_the_field_named(server: Server, deployment: str) -> None:
    with server.client() as client, pytest.raises(Invalid) as failure:
        client.jobs.submit({"deploymentId": deployment, "intakeSettings": {"type": "nowhere"}})
    assert failure.value.status_code == 422
    assert "intakeSettings" in failure.value.errors


def test_unknown_job_is_not_found(server: Server) -> None:
    with server.client() as client:
        with pytest.raises(NotFound):
            client.jobs.get("no-such-job")
        with pytest.raises(NotFound):
            client.jobs.download("no-such-job", Path("never-written.csv"))
    assert not Path("never-written.csv").exists()


def test_logs_and_stream_of_a_finished_job(server: Server, deployment: str) -> None:
    with server.client() as client:
        job = client.jobs.score(deployment, DEMO_DATA)
        assert job.logs == client.jobs.logs(job.id)
        assert any("created" in line.lower() for line in job.logs)
        with client.jobs.stream(job.id) as chunks:
            body = b"".join(chunks)
    assert body.count(b"\n") == 501


def test_the_async_client_scores_and_lists(server: Server, deployment: str, tmp_path: Path) -> None:
    async def scenario() -> tuple[str, list[str]]:
        async with AsyncClient(server.endpoint, server.token) as client:
            job = await client.jobs.score(deployment, DEMO_DATA, tmp_path / "async.csv")
            listed = [item.id async for item in client.jobs.list(status="COMPLETED")]
            return job.id, listed

    job_id, listed = asyncio.run(scenario())
    assert job_id in listed
    assert len((tmp_path / "async.csv").read_text().splitlines()) == 501
