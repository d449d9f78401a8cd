"""Real S3, Azure and GCS emulators started on free local ports, one of each per session.

- S3: ``moto_server`` (moto in server mode) in a child process.
- Azure: Azurite's blob service from npm (``scripts/services.sh`` installs it under
  ``.cache/node``; ``azurite-blob`` on ``PATH`` also works), in-memory.
- GCS: ``gcp-storage-emulator`` in a child process, in-memory.

Each starter returns a ``Running`` with the endpoint, or skips (fails under CI=true) when the
program is missing or does not come up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from services import free_port, in_ci, is_listening

REPO = Path(__file__).resolve().parents[2]
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass(frozen=True)
class Running:
    endpoint: str
    port: int


def _unavailable(message: str) -> None:
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def _process(
    name: str, command: list[str], port: int, env: dict[str, str] | None = None
) -> Iterator[Running]:
    """``command`` running until the block ends. Its output goes to a temporary file, never a
    pipe: a pipe nobody reads fills (64 KiB of request logs) and blocks the emulator."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**os.environ, **(env or {})},
        )
        try:
            deadline = time.monotonic() + 60
            while not is_listening("127.0.0.1", port, timeout=0.2):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    error = log.read().decode(errors="replace")[-2000:]
                    _unavailable(f"{name} did not start on port {port}: {error}")
                time.sleep(0.1)
            yield Running(f"http://127.0.0.1:{port}", port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def moto() -> Iterator[Running]:
    executable = shutil.which("moto_server")
    if executable is None:
        _unavailable("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    with _process("moto_server", [executable, "-H", "127.0.0.1", "-p", str(port)], port) as running:
        yield running


def azurite_executable() -> str | None:
    local = REPO / ".cache" / "node" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


@contextmanager
def azurite(workdir: Path) -> Iterator[Running]:
    executable = azurite_executable()
    if executable is None:
        _unavailable("Azurite is not installed (scripts/services.sh installs it from npm)")
    port = free_port()
    command = [
        executable,
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--inMemoryPersistence",
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
    ]
    with _process("Azurite", command, port) as running:
        yield running


def azurite_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


@contextmanager
def gcs(port: int | None = None) -> Iterator[Running]:
    """The emulator on ``port`` (a free one when None: give one to say the endpoint to processes
    started before it, such as Dask workers, in ``STORAGE_EMULATOR_HOST``)."""
    executable = shutil.which("gcp-storage-emulator")
    command = [executable] if executable else [sys.executable, "-m", "gcp_storage_emulator"]
    port = port or free_port()
    with _process(
        "gcp-storage-emulator",
        [*command, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"],
        port,
    ) as running:
        yield running
