"""A job process that finished a job cleanly runs the next one (``job_process.JobProcesses``),
and nothing of a job is left for the next: real job processes, a real store and worker.

Which process ran a job is the worker's ``job_process_ids``; what a process holds between jobs
is looked at from outside (``/proc/<pid>/fd``) and, for what only the process itself can see,
by ``job_traces.forget_job`` run here on real state.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import fsspec
import httpx
import numpy as np
import pandas as pd
import pytest
from demo_jobs import score_demo, until
from sklearn.linear_model import LogisticRegression

from live_api import LiveServer
from scorecast.config import Settings
from scorecast.demo import MODEL
from scorecast.predictors import registry
from scorecast.predictors.registry import describe_model, load_predictor
from scorecast.runtime import job_traces
from scorecast.runtime.worker import Worker

SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, allow_pickle_models=True, pickle_model_roles=frozenset({"user"}))


@contextmanager
def _worker(server: LiveServer, **changes: Any) -> Iterator[Worker]:
    worker = Worker(replace(server.settings, **changes), server.engine, lease_seconds=5.0)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def _demo_pids(server: LiveServer, worker: Worker, count: int) -> list[int]:
    """Run ``count`` demo jobs one after the other; the process id that ran each."""
    pids = []
    with httpx.Client(base_url=server.url + "/", headers=server.headers(), timeout=60) as http:
        for _ in range(count):
            state = score_demo(http)
            assert state["status"] == "COMPLETED", state
            assert state["scoredRows"] == 500
            pids.append(worker.job_process_ids[state["id"]])
    return pids


def _open_files(pid: int) -> list[str]:
    folder = Path(f"/proc/{pid}/fd")
    return [os.readlink(entry) for entry in folder.iterdir()]


def _job_folders(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"scorecast-job-{pid}-*"))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


# --- a model whose loading runs code ------------------------------------------------------------


class _Payload:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[Any, tuple[str, dict[str, Any]]]:
        return (exec, (self.code, {}))


#: run by unpickling in a job process (not at registration): leaves an environment variable,
#: an open file and a module global behind, or kills the process
_IN_JOB = """
import os, sys
if "scorecast.runtime.job_process" in sys.modules:
    %s
"""
_PLANT = (
    "os.environ['PLANTED'] = 'yes'; "
    "sys.modules['scorecast.predictors.registry'].planted = open(%r, 'w')"
)


def _pickle_model(path: Path, code: str) -> Path:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(60, 2)), columns=["num_a", "num_b"])
    model = LogisticRegression().fit(frame, np.where(frame.num_a > 0, "yes", "no"))
    model.payload_ = _Payload(_IN_JOB % code)  # type: ignore[attr-defined]
    path.write_bytes(pickle.dumps(model))
    return path


def _score_pickle(server: LiveServer, model: Path) -> dict[str, Any]:
    with httpx.Client(base_url=server.url + "/", headers=server.headers(), timeout=60) as http:
        registered = http.post(
            "deployments/fromModelFile/",
            files={"file": (model.name, model.read_bytes())},
            data={
                "targetName": "label",
                "targetType": "binary",
                "positiveClass": "yes",
                "trustPickle": "true",
            },
        )
        assert registered.status_code == 201, registered.text
        job = http.post(
            "batchPredictions/",
            json={
                "deploymentId": registered.json()["id"],
                "intakeSettings": {"type": "localFile"},
                "outputSettings": {"type": "localFile"},
            },
        ).json()
        rows = b"num_a,num_b\n1.0,2.0\n-3.0,-1.0\n"
        assert http.put(job["links"]["csvUpload"], content=rows).status_code == 202
        state: dict[str, Any] = {}

        def ended() -> bool:
            state.update(http.get(job["links"]["self"]).json())
            return state["status"] in ("COMPLETED", "ABORTED", "FAILED")

        until(ended, timeout=120)
        return state


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.e2e
@SQLITE
def test_jobs_in_sequence_run_in_one_process_that_keeps_no_file_of_theirs(
    live_server: LiveServer, tmp_path: Path
) -> None:
    with _worker(live_server) as worker:
        pids = _demo_pids(live_server, worker, 3)
        assert pids[0] == pids[1] == pids[2]
        # the job thread gives the process back after the COMPLETED commit the API showed
        until(lambda: worker.spare_process is not None, timeout=120)
        spare = worker.spare_process
        assert spare is not None and spare.pid == pids[0] and spare.alive
        left = [path for path in _open_files(pids[0]) if path.startswith("/")]
        home = str(live_server.settings.home)
        assert not [path for path in left if path.startswith(home)], left
        assert not [path for path in left if "scorecast-job-" in path], left

        # a model that runs code gets a process that ran no job, and that process none after
        planted = tmp_path / "planted.txt"
        state = _score_pickle(live_server, _pickle_model(tmp_path / "p.pkl", _PLANT % str(planted)))
        assert state["status"] == "COMPLETED", (state["statusDetails"], state.get("logs"))
        pickle_pid = worker.job_process_ids[state["id"]]
        assert pickle_pid != pids[0]
        until(lambda: _gone(pickle_pid), timeout=120)
        assert _demo_pids(live_server, worker, 1) == [pids[0]]


@pytest.mark.e2e
@SQLITE
def test_a_crash_fails_its_job_alone_and_the_next_job_gets_a_new_process(
    live_server: LiveServer, tmp_path: Path
) -> None:
    with _worker(live_server) as worker:
        [first] = _demo_pids(live_server, worker, 1)
        os.kill(first, signal.SIGKILL)  # dies while it waits for a job
        [second] = _demo_pids(live_server, worker, 1)
        assert second != first

        # it leaves a file in its temporary folder, then dies mid-job
        crash = "open(os.environ['TMPDIR'] + '/left.txt', 'w').close(); os._exit(70)"
        state = _score_pickle(live_server, _pickle_model(tmp_path / "crash.pkl", crash))
        assert state["status"] == "ABORTED", state  # the API shows a failed job ABORTED
        assert "exited unexpectedly with code 70" in state["statusDetails"]
        crashed = worker.job_process_ids[state["id"]]
        assert crashed != second
        until(lambda: not _job_folders(crashed), timeout=120)  # the worker removed it
        [third] = _demo_pids(live_server, worker, 1)
        assert third == second  # the pickle job took a fresh one: this one waited


@pytest.mark.e2e
@SQLITE
def test_a_starting_worker_removes_the_job_folders_of_processes_that_no_longer_run(
    live_server: LiveServer,
) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(ended.stdout)
    orphan = Path(tempfile.mkdtemp(prefix=f"scorecast-job-{dead_pid}-"))
    (orphan / "rows.csv").write_text("a\n1\n")
    running = Path(tempfile.mkdtemp(prefix=f"scorecast-job-{os.getpid()}-"))
    try:
        with _worker(live_server):
            assert not orphan.exists()
            assert running.exists()  # its process runs: perhaps a job of another service
    finally:
        shutil.rmtree(running, ignore_errors=True)
        shutil.rmtree(orphan, ignore_errors=True)


@pytest.mark.e2e
@SQLITE
def test_a_process_is_replaced_after_its_most_jobs_and_above_its_memory_limit(
    live_server: LiveServer,
) -> None:
    with _worker(live_server, job_process_max_jobs=2) as worker:
        pids = _demo_pids(live_server, worker, 3)
        assert pids[0] == pids[1] != pids[2]
    # below any process's size: every job is its process's last
    with _worker(live_server, job_process_max_rss_mb=1.0) as worker:
        pids = _demo_pids(live_server, worker, 2)
        assert pids[0] != pids[1]


def test_forgetting_a_job_restores_the_environment_and_drops_its_files_and_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.forget_loaded()  # this process holds other tests' models; a job process none
    monkeypatch.setenv("KEPT", "before")
    baseline = job_traces.Baseline.now()
    folder = job_traces.begin_job(baseline)
    assert tempfile.gettempdir() == str(folder)
    (Path(tempfile.mkdtemp()) / "rows.csv").write_text("a\n1\n")
    os.environ["SET_BY_A_JOB"] = "secret"
    os.environ["KEPT"] = "changed"
    load_predictor(
        MODEL,
        describe_model(MODEL, target="readmitted", target_type="binary", positive_class="yes"),
    )
    assert registry._cache
    memory = fsspec.filesystem("memory", skip_instance_cache=False, key="credential-value")
    assert memory in type(memory)._cache.values()
    left_open = (tmp_path / "kept-open.txt").open("w")

    reasons = job_traces.forget_job(baseline, folder)
    assert "SET_BY_A_JOB" not in os.environ
    assert os.environ["KEPT"] == "before"
    assert not folder.exists()
    assert tempfile.tempdir == baseline.tempdir
    assert registry.loaded_models() == [(str(MODEL), "onnx")]  # kept: see its own tests
    assert memory not in type(memory)._cache.values()
    assert reasons == [f"1 file(s) left open ({tmp_path / 'kept-open.txt'})"]

    left_open.close()
    folder = job_traces.begin_job(baseline)
    assert job_traces.forget_job(baseline, folder) == []


def test_the_settings_are_read_from_the_environment_and_bad_values_name_the_variable() -> None:
    from scorecast.errors import InvalidInput

    env = {"SCORECAST_HOME": "/nowhere"}
    defaults = Settings.from_env(env)
    assert (defaults.job_process_max_jobs, defaults.job_process_max_rss_mb) == (500, 1024.0)
    chosen = Settings.from_env(
        {**env, "SCORECAST_JOB_PROCESS_MAX_JOBS": "1", "SCORECAST_JOB_PROCESS_MAX_RSS_MB": "0"}
    )
    assert (chosen.job_process_max_jobs, chosen.job_process_max_rss_mb) == (1, 0.0)
    for name, value in (
        ("SCORECAST_JOB_PROCESS_MAX_JOBS", "0"),
        ("SCORECAST_JOB_PROCESS_MAX_JOBS", "many"),
        ("SCORECAST_JOB_PROCESS_MAX_RSS_MB", "-5"),
    ):
        with pytest.raises(InvalidInput, match=name):
            Settings.from_env({**env, name: value})
