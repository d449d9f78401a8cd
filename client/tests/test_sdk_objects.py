"""The SDK's definitions, deployments, credentials and datasets, and its errors, against a real
``scorecast serve``; retries against a small HTTP server that fails on purpose."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scorecast_client import (
    Client,
    Conflict,
    Invalid,
    JobFailed,
    NotFound,
    RetryPolicy,
    ServerError,
    TransportError,
    Unauthorized,
)
from scorecast_client._catalog import register_form
from sdk_server import DEMO_DATA, DEMO_MODEL, Server, file_spec

pytestmark = pytest.mark.e2e

#: a schedule that does not fire while a test runs: 03:00 UTC on the 1st of January
NEW_YEAR = {"minute": [0], "hour": [3], "dayOfMonth": [1], "month": [1], "dayOfWeek": ["*"]}


def test_definition_life_cycle(server: Server, deployment: str) -> None:
    shutil.copy(DEMO_DATA, server.files / "sdk-in.csv")
    spec = {
        **file_spec(server, deployment, "sdk-in.csv", "sdk-out.csv"),
        "name": "sdk nightly",
        "enabled": False,
        "schedule": NEW_YEAR,
    }
    with server.client() as client:
        created = client.definitions.create(spec)
        assert created["name"] == "sdk nightly" and created["enabled"] is False
        with pytest.raises(Conflict):
            client.definitions.create(spec)
        assert client.definitions.get(created["id"]) == client.definitions.find("sdk nightly")
        assert [d["id"] for d in client.definitions.list(search_name="sdk nig")] == [created["id"]]
        assert client.definitions.enable(created["id"])["enabled"] is True
        assert client.definitions.disable(created["id"])["enabled"] is False
        renamed = client.definitions.update(created["id"], {"name": "sdk renamed"})
        assert renamed["name"] == "sdk renamed"
        job = client.definitions.run(created["id"]).wait(timeout=300)
        assert job.data["batchPredictionJobDefinition"] == {
            "id": created["id"],
            "name": "sdk renamed",
        }
        assert len((server.files / "sdk-out.csv").read_text().splitlines()) == 501
        listed = [j.id for j in client.jobs.list(definition_id=created["id"])]
        assert listed == [job.id]
        client.definitions.delete(created["id"])
        with pytest.raises(NotFound):
            client.definitions.find(created["id"])


def test_a_failing_definition_run_raises_job_failed(server: Server, deployment: str) -> None:
    spec = file_spec(server, deployment, "missing.csv", "never.csv")
    with server.client() as client:
        definition = client.definitions.create(spec)
        with pytest.raises(JobFailed) as failure:
            client.definitions.run(definition["id"]).wait(timeout=300)
        client.definitions.delete(definition["id"])
    assert failure.value.status == "FAILED"
    assert "missing.csv" in failure.value.status_details


def test_deployments_register_list_get_delete(server: Server) -> None:
    with server.client() as client:
        made = client.deployments.register(
            DEMO_MODEL,
            target="readmitted",
            target_type="binary",
            positive_class="yes",
            label="sdk-registered",
        )
        assert made["label"] == "sdk-registered"
        assert made["id"] in {d["id"] for d in client.deployments.list(search="sdk-reg")}
        assert client.deployments.get(made["id"])["model"]["targetName"] == "readmitted"
        client.deployments.delete(made["id"])
        with pytest.raises(NotFound):
            client.deployments.get(made["id"])


def test_a_model_folder_given_as_dot_is_named_after_it_and_leaves_nothing(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "readmission-model"
    folder.mkdir()
    (folder / "model.txt").write_text("no model format the server knows")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the zip archive is made
    monkeypatch.chdir(folder)
    form = register_form(
        Path("."), target="t", target_type="regression", positive_class=None, label=None,
        trust_pickle=False,
    )  # fmt: skip
    assert form["label"] == "readmission-model"
    with server.client() as client, pytest.raises(Invalid, match="model format"):
        client.deployments.register(".", target="readmitted", target_type="regression")
    assert list(scratch.iterdir()) == []


def test_credentials_never_come_back_with_their_secret(server: Server) -> None:
    with server.client() as client:
        made = client.credentials.create(
            {"name": "sdk-basic", "credentialType": "basic", "user": "u", "password": "pw-secret"}
        )
        assert "pw-secret" not in str(made)
        assert made["credentialId"] in {c["credentialId"] for c in client.credentials.list()}
        assert client.credentials.get(made["credentialId"])["name"] == "sdk-basic"
        client.credentials.delete(made["credentialId"])
        with pytest.raises(NotFound):
            client.credentials.get(made["credentialId"])


def test_datasets_upload_list_delete(server: Server) -> None:
    with server.client() as client:
        made = client.datasets.upload(DEMO_DATA, name="sdk patients")
        assert made["name"] == "sdk patients" and made["rowCount"] == 500
        assert made["datasetId"] in {d["datasetId"] for d in client.datasets.list()}
        client.datasets.delete(made["datasetId"])
        with pytest.raises(NotFound):
            client.datasets.get(made["datasetId"])


def test_a_wrong_token_is_unauthorized(server: Server) -> None:
    with Client(server.endpoint, "not-a-token") as client, pytest.raises(Unauthorized):
        client.check()


def test_an_unreachable_server_is_a_transport_error(refused_port: int) -> None:
    endpoint = f"http://127.0.0.1:{refused_port}/api/v2"
    policy = RetryPolicy(attempts=2, base=0.0)
    with Client(endpoint, "t", retry=policy) as client, pytest.raises(TransportError) as failure:
        client.jobs.get("x")
    assert endpoint in str(failure.value)


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 to the first two requests of each method, then 200 with an empty job list."""

    counts: dict[str, int] = {}

    def _answer(self) -> None:
        seen = self.counts.get(self.command, 0) + 1
        self.counts[self.command] = seen
        body = b'{"count":0,"totalCount":0,"next":null,"previous":null,"data":[]}'
        status = 503 if seen <= 2 else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.counts = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/api/v2"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_gets_are_retried_on_503_and_posts_are_not(flaky: str) -> None:
    with Client(flaky, "t", retry=RetryPolicy(attempts=5, base=0.0)) as client:
        assert list(client.jobs.list()) == []
        assert _Flaky.counts["GET"] == 3
        with pytest.raises(ServerError):
            client.jobs.submit({"deploymentId": "d"})
        assert _Flaky.counts["POST"] == 1


def test_schedule_preview_and_fires(server: Server, deployment: str) -> None:
    london = {**NEW_YEAR, "hour": [1], "minute": [30], "dayOfMonth": ["*"], "month": ["*"]}
    london["timezone"] = "Europe/London"
    with server.client() as client:
        preview = client.definitions.preview_schedule(london, after="2026-03-28T12:00:00Z", count=2)
        assert [f["dst"] for f in preview["fires"]] == ["gap", None]
        assert preview["fires"][0]["local"] == "2026-03-29T02:00:00+01:00"
        spec = {
            **file_spec(server, deployment, "sdk-in.csv", "sdk-out.csv"),
            "name": "sdk previewed",
            "enabled": False,
            "schedule": london,
        }
        created = client.definitions.create(spec)
        stored = client.definitions.preview(created["id"], count=3)
        assert len(stored["fires"]) == 3 and stored["timezone"] == "Europe/London"
        assert list(client.definitions.fires(created["id"])) == []  # never fired
        with pytest.raises(NotFound):
            client.definitions.preview("0" * 24)
        client.definitions.delete(created["id"])
