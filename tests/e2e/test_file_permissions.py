"""Issue 14: the state folder and everything a real ``scorecast serve`` and its job processes
create in it are owner-only (folders 0700, files 0600), even when the folder existed before
with wider rights."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from job_streams import wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model, submit_local_job

#: written by the test harness itself (``ServeProcess``), not by the service
HARNESS_FILES = {"serve.log"}
TERMINAL = ("COMPLETED", "FAILED", "ABORTED")


def _modes(home: Path) -> dict[str, int]:
    """``st_mode`` of the folder and of everything in it, by relative name."""
    found = {".": home.stat().st_mode}
    for path in home.rglob("*"):
        relative = str(path.relative_to(home))
        if relative not in HARNESS_FILES:
            found[relative] = path.lstat().st_mode
    return found


def test_state_files_of_a_real_job_are_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)  # as an older version (or a umask of 022) left it
    server = ServeProcess(home, f"sqlite:///{home / 'scorecast.db'}").start()
    try:
        deployment = register_demo_model(server)
        job = submit_local_job(server, deployment, patients_csv(tmp_path / "patients.csv"))
        with server.http() as http:
            done = wait_for_job(http, job["id"], lambda j: j["status"] in TERMINAL)
            assert done["status"] == "COMPLETED", (done, server.output())
            assert http.get(f"batchPredictions/{job['id']}/download/").status_code == 200
        modes = _modes(home)  # while it runs: the SQLite -wal and -shm files exist
    finally:
        server.stop()

    names = set(modes)
    assert {".", "scorecast.db", "secret.key"} <= names, sorted(names)
    for folder in ("artifacts", "uploads", "results"):
        assert any(name.startswith(folder + "/") for name in names), (folder, sorted(names))
    assert any(name.startswith("scorecast.db-") for name in names), sorted(names)
    expected = {name: 0o700 if stat.S_ISDIR(mode) else 0o600 for name, mode in modes.items()}
    actual = {name: stat.S_IMODE(mode) for name, mode in modes.items()}
    assert {n: oct(m) for n, m in actual.items()} == {n: oct(m) for n, m in expected.items()}


def test_token_create_makes_a_new_store_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "SCORECAST_HOME": str(home)}
    env.pop("SCORECAST_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "scorecast", "token", "create", "--org", "o", "--user", "u"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    modes = {name: stat.S_IMODE(mode) for name, mode in _modes(home).items()}
    assert modes["."] == 0o700 and modes["scorecast.db"] == 0o600, modes
