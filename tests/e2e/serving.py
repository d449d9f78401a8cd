"""Real ``scorecast serve`` processes for end-to-end tests.

``ServeProcess`` starts ``scorecast serve --port 0`` with its own ``SCORECAST_HOME`` (and a
PostgreSQL database when asked), reads the endpoint (and, on a first start, the admin token)
from its stdout, and can stop it with SIGTERM or kill it with SIGKILL. Its output is kept in a
log file that failing tests print.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from scorecast.demo import DATA, MODEL

SERVING = re.compile(r"scorecast is serving at (http://\S+/api/v2)")
START_TIMEOUT = 120.0


class ServeProcess:
    """One ``scorecast serve`` process (see the module docstring)."""

    def __init__(
        self,
        home: Path,
        database_url: str,
        *args: str,
        env: dict[str, str] | None = None,
        api: bool = True,
    ) -> None:
        self.home = home
        self.api = api  # False: a process without the api role (no endpoint to wait for)
        self.database_url = database_url
        self.args = args
        self.extra_env = env or {}
        self.endpoint = ""
        self.token: str | None = None
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def start(self) -> ServeProcess:
        env = {
            **os.environ,
            "SCORECAST_HOME": str(self.home),
            "SCORECAST_DATABASE_URL": self.database_url,
            **self.extra_env,
        }
        env.pop("SCORECAST_ENDPOINT", None)
        env.pop("SCORECAST_TOKEN", None)
        self.home.mkdir(parents=True, exist_ok=True)
        log = (self.home / "serve.log").open("a")
        command = [sys.executable, "-m", "scorecast", "serve", "--port", "0", *self.args]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1
        )
        self.lines = []
        self._ready.clear()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(START_TIMEOUT) or (self.api and not self.endpoint):
            self.kill()
            raise RuntimeError(f"scorecast serve did not start:\n{self.output()}")
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        expect_token = False
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            found = SERVING.search(line)
            if found:
                self.endpoint = found.group(1)
            if expect_token:
                self.token = line.strip()
            expect_token = "API token:" in line
            if line.startswith("state folder:"):
                self._ready.set()
        self._ready.set()

    def wait_for_line(self, pattern: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r}:\n{self.output()}")

    def output(self) -> str:
        log = self.home / "serve.log"
        tail = log.read_text()[-4000:] if log.exists() else ""
        return "\n".join(self.lines) + "\n--- stderr ---\n" + tail

    def stop(self, timeout: float = 60.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def job_processes(self) -> list[psutil.Process]:
        """The service's job processes (its children running ``scorecast.runtime.job_process``)."""
        assert self.process is not None
        children = psutil.Process(self.process.pid).children()
        return [c for c in children if "scorecast.runtime.job_process" in " ".join(c.cmdline())]

    def http(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.endpoint + "/",
            headers={"Authorization": f"Token {token or self.token}"},
            timeout=60,
        )


def register_demo_model(server: ServeProcess, token: str | None = None) -> str:
    """Register the shipped demo ONNX model through the API; the deployment id."""
    with server.http(token) as http:
        response = http.post(
            "deployments/fromModelFile/",
            files={"file": ("readmission.onnx", MODEL.read_bytes(), "application/octet-stream")},
            data={"targetName": "readmitted", "targetType": "binary", "positiveClass": "yes"},
        )
    assert response.status_code == 201, f"{response.text}\n{server.output()}"
    deployment_id: str = response.json()["id"]
    return deployment_id


def submit_local_job(server: ServeProcess, deployment: str, source: Path) -> dict[str, Any]:
    """Submit a localFile job in small chunks (so it runs for a while) and upload ``source``.

    Returns the job as the POST answered it (status INITIALIZING, with its links).
    """
    with server.http() as http:
        created: dict[str, Any] = http.post(
            "batchPredictions/",
            json={
                "deploymentId": deployment,
                "intakeSettings": {"type": "localFile"},
                "outputSettings": {"type": "localFile"},
                "passthroughColumns": ["patient_id"],
                "chunkSize": 8192,
                "numConcurrent": 1,
            },
        ).json()
        upload = http.put(created["links"]["csvUpload"], content=source.read_bytes())
        assert upload.status_code == 202, upload.text
    return created


def patients_csv(path: Path, copies: int = 1) -> Path:
    """The demo patients (500 rows) repeated ``copies`` times, with unique ids."""
    lines = DATA.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    with path.open("w") as out:
        out.write(header + "\n")
        for copy in range(copies):
            for row in rows:
                ident, rest = row.split(",", 1)
                out.write(f"{ident}-{copy},{rest}\n")
    return path
