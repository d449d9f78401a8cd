"""What a job leaves behind in a job process that runs several jobs (``job_process``), removed
before the next job so that no job sees another's data.

Before each job the process notes its state (``Baseline``) and gives the job a temporary
folder of its own (``TMPDIR`` and ``tempfile`` point to it). After the job, ``forget_job``:

- puts the environment variables and the working folder back as they were;
- removes the job's temporary folder with everything in it;
- drops the loaded models (``predictors.registry``) but a few ONNX and skops models, whose
  loaded form holds nothing of a job (``registry.keep_between_jobs`` says why), so that the
  next job of the same model skips loading it; and drops the cached file systems (fsspec keeps
  one instance per set of arguments: with a credential's keys in them);
- collects the young generations of garbage (a full collection, 100+ ms with the libraries
  imported, only when a file is still open), which closes the files nothing refers to.

A job's folder is named after its process (``scorecast-job-<pid>-…``), so the worker removes
what a process killed mid-job left (``remove_folders_of``), and a worker starting removes the
folders of processes no longer running (``remove_orphan_folders``: a service killed whole).

What it cannot undo it reports: a file still open (a reference kept somewhere) makes the job
process retire instead of running another job. Files under the user's cache folder do not
count: libraries keep theirs open for the life of the process (onnxruntime's
``~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db``, opened by its first model).
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_FD_FOLDER = Path("/proc/self/fd")
_PREFIX = "scorecast-job-"


@dataclass(frozen=True)
class Baseline:
    """The process's state between jobs."""

    environ: dict[str, str]
    cwd: str
    tempdir: str | None
    open_files: frozenset[str]

    @classmethod
    def now(cls) -> Baseline:
        return cls(dict(os.environ), os.getcwd(), tempfile.tempdir, frozenset(open_files()))


def begin_job(baseline: Baseline) -> Path:
    """A fresh temporary folder for the next job, made the process's temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=baseline.tempdir))
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    return folder


def forget_job(baseline: Baseline, folder: Path) -> list[str]:
    """Remove what the job left (see the module docstring); what remains, as reasons for the
    process not to run another job (empty: it may)."""
    for name in [name for name in os.environ if name not in baseline.environ]:
        del os.environ[name]
    for name, value in baseline.environ.items():
        if os.environ.get(name) != value:
            os.environ[name] = value
    with contextlib.suppress(OSError):
        os.chdir(baseline.cwd)
    tempfile.tempdir = baseline.tempdir
    shutil.rmtree(folder, ignore_errors=True)
    from scorecast.predictors import registry

    registry.keep_between_jobs()
    _forget_file_systems()
    gc.collect(1)  # the young generations; a full collection takes 100+ ms with the imports
    reasons = []
    if folder.exists():
        reasons.append(f"its temporary folder {folder} could not be removed")
    left_open = sorted(open_files() - baseline.open_files)
    if left_open:  # a file in an old reference cycle: the full collection closes it
        gc.collect()
        left_open = sorted(open_files() - baseline.open_files)
    if left_open:
        reasons.append(f"{len(left_open)} file(s) left open ({', '.join(left_open[:3])})")
    return reasons


def remove_folders_of(pid: int) -> None:
    """Remove the job folders process ``pid`` left (call once it has ended)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}{pid}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def remove_orphan_folders() -> None:
    """Remove the job folders of processes that no longer run (a job process, or the whole
    service, killed mid-job). A folder whose process id runs again is kept."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = folder.name.removeprefix(_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _runs(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it runs, as another user
        return True
    return True


def open_files() -> set[str]:
    """The paths of the regular files this process has open (pipes, sockets and devices,
    which thread and process pools keep, are not counted); empty where that cannot be told."""
    paths = set()
    with contextlib.suppress(OSError):
        for entry in _FD_FOLDER.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(entry)
                if target.startswith("/") and not target.startswith(_NOT_JOB_FILES):
                    paths.add(target)
    return paths


def _cache_folder() -> str:
    folder = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return folder.rstrip("/") + "/"


#: the open files that are never a job's own
_NOT_JOB_FILES = ("/dev/", "/proc/", _cache_folder())


def _forget_file_systems() -> None:
    fsspec_spec = sys.modules.get("fsspec.spec")
    if fsspec_spec is None:
        return
    pending: list[type] = [fsspec_spec.AbstractFileSystem]
    while pending:
        kind = pending.pop()
        with contextlib.suppress(Exception):
            kind.clear_instance_cache()  # type: ignore[attr-defined]
        pending.extend(kind.__subclasses__())
