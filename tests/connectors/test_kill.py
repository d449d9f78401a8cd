"""A worker killed (SIGKILL) in the middle of writing leaves no object and no rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
from backends import Backend, SqlBackend

HERE = Path(__file__).parent


def _kill_while_writing(backend: Backend, name: str, tmp_path: Path, size: int) -> None:
    spec = {
        "env": backend.env | {k: v for k, v in os.environ.items() if k == "STORAGE_EMULATOR_HOST"},
        "settings": {
            "home": str(backend.settings.home),
            "file_roots": [str(p) for p in backend.settings.file_roots],
        },
        "credentials": backend.credentials,
        "data_stores": backend.data_stores,
        "output": backend.settings_for(name, backend.formats[0], "output"),
        "template": dict(backend.context(name).template),
        "bytes": size,
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    child = subprocess.Popen(
        [sys.executable, str(HERE / "kill_writer.py"), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "ready", child.stderr.read() if child.stderr else ""
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def test_killed_writer_leaves_nothing(backend: Backend, tmp_path: Path) -> None:
    if not backend.writes:
        import pytest

        pytest.skip(f"{backend.name} is intake-only")
    fmt = backend.formats[0]
    name = backend.new_name(fmt)
    if isinstance(backend, SqlBackend):
        backend.put(
            name, pa.table({"id": pa.array([-1], pa.int64()), "score": [0.0], "label": ["x"]}), None
        )
        _kill_while_writing(backend, name, tmp_path, 2 << 20)
        assert backend.count(name) == 1
        return
    # 20 MB: more than two multipart parts / blocks / resumable chunks were sent
    _kill_while_writing(backend, name, tmp_path, 20 << 20)
    assert not backend.exists(name)
