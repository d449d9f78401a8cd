"""Helpers of the SDK's tests: a real ``scorecast serve``, and running the ``scorecast`` CLI.

The server is started from the full install (``scorecast serve``, or the command in
``SCORECAST_TEST_SERVE`` when the tests run in a venv holding only scorecast-client) on a fresh
SQLite store. The demo model and data come from this repository.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from scorecast_client import Client

REPO = Path(__file__).resolve().parents[2]
DEMO_MODEL = REPO / "src" / "scorecast" / "demo" / "readmission.onnx"
DEMO_DATA = REPO / "src" / "scorecast" / "demo" / "patients.csv"

SERVING = re.compile(r"scorecast is serving at (http://\S+/api/v2)")
START_TIMEOUT = 180.0


@dataclass
class Server:
    endpoint: str
    token: str
    process: subprocess.Popen[str]
    home: Path

    @property
    def files(self) -> Path:
        """The server's file root: ``filesystem`` intakes and outputs may use it."""
        return self.home / "files"

    def client(self, **kwargs: object) -> Client:
        return Client(self.endpoint, self.token, **kwargs)  # type: ignore[arg-type]


def _serve_command() -> list[str]:
    configured = os.environ.get("SCORECAST_TEST_SERVE")
    if configured:
        return shlex.split(configured)
    exe = shutil.which("scorecast")
    if exe:
        return [exe, "serve"]
    return [sys.executable, "-c", "from scorecast.cli.main import run; run()", "serve"]


@contextmanager
def start_server(home: Path) -> Iterator[Server]:
    """``scorecast serve`` on a fresh SQLite store in ``home``, stopped on leaving."""
    env = {
        **os.environ,
        "SCORECAST_HOME": str(home),
        "SCORECAST_DATABASE_URL": f"sqlite:///{home / 'scorecast.db'}",
        "SCORECAST_FILE_ROOTS": str(home / "files"),
    }
    (home / "files").mkdir(parents=True)
    for name in ("SCORECAST_ENDPOINT", "SCORECAST_TOKEN", "SCORECAST_PROFILE"):
        env.pop(name, None)
    log = (home / "serve.log").open("a")
    process = subprocess.Popen(
        [*_serve_command(), "--port", "0", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        bufsize=1,
    )
    found: dict[str, str] = {}
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        expect_token = False
        for line in process.stdout:
            match = SERVING.search(line)
            if match:
                found["endpoint"] = match.group(1)
            if expect_token:
                found["token"] = line.strip()
            expect_token = "API token:" in line
            if line.startswith("state folder:"):
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(START_TIMEOUT) or "endpoint" not in found or "token" not in found:
            raise RuntimeError(f"scorecast serve did not start; see {home / 'serve.log'}")
        yield Server(found["endpoint"], found["token"], process, home)
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
        log.close()


def file_spec(server: Server, deployment: str, source: str, target: str) -> dict[str, object]:
    """A definition reading ``source`` and writing ``target`` in the server's file root."""
    return {
        "deploymentId": deployment,
        "intakeSettings": {"type": "filesystem", "url": (server.files / source).as_uri()},
        "outputSettings": {"type": "filesystem", "url": (server.files / target).as_uri()},
        "passthroughColumns": ["patient_id"],
    }


def scorecast_command() -> list[str]:
    exe = shutil.which("scorecast")
    if exe:
        return [exe]
    return [sys.executable, "-c", "from scorecast_client.cli import run; run()"]


def run_cli(
    *args: str,
    server: Server | None = None,
    config: Path,
    token: str | None = None,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``scorecast ARGS`` in a subprocess; with ``server``, its endpoint and token in the env."""
    full_env = {key: value for key, value in os.environ.items() if not key.startswith("SCORECAST_")}
    full_env.pop("NO_COLOR", None)
    full_env["SCORECAST_CONFIG_DIR"] = str(config)
    if "PYTHONPATH" in os.environ:
        full_env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if server is not None:
        full_env["SCORECAST_ENDPOINT"] = server.endpoint
        full_env["SCORECAST_TOKEN"] = token or server.token
    full_env.update(env or {})
    return subprocess.run(
        [*scorecast_command(), *args],
        capture_output=True,
        text=True,
        input=input_text,
        env=full_env,
        timeout=300,
        check=False,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int) -> None:
    """The documented exit code, one ``error:`` line on stderr, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), result.stderr


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A plain HTTP server in a thread (something that is not the API, in front of it or in
    its place): its ``http://127.0.0.1:PORT`` while inside."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """The ``…/api/v2`` of a socket that takes connections and never answers (a paused or hung
    server): a request to it ends only by its timeout."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(64)
        yield f"http://127.0.0.1:{listening.getsockname()[1]}/api/v2"
