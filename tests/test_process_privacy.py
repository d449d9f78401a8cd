"""``keep_memory_private``: another process of the same user can no longer read the service's
environment (where ``SCORECAST_SECRET_KEY`` may be), as a model running in a job process
would try to."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")

#: run as a fresh interpreter: forks a reader of its own /proc/<pid>/environ, same user
_PROBE = """
import os, sys
from scorecast.process_privacy import PR_SET_DUMPABLE, _prctl, is_dumpable, keep_memory_private
prctl = _prctl()
if os.getuid() == 0:  # root reads everything: probe as another user, both sides alike
    os.setgid(65534)
    os.setuid(65534)
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # a change of user made it non-dumpable: undo
if sys.argv[1] == "private":
    assert keep_memory_private()
    assert is_dumpable() is False
pid = os.getpid()
read_end, write_end = os.pipe()
reader = os.fork()
if reader == 0:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            seen = b"SCORECAST_SECRET_KEY=probe-key" in handle.read()
        os.write(write_end, b"read" if seen else b"absent")
    except PermissionError:
        os.write(write_end, b"denied")
    os._exit(0)
os.waitpid(reader, 0)
print(os.read(read_end, 16).decode())
"""


def _probe(mode: str) -> str:
    env = {**os.environ, "SCORECAST_SECRET_KEY": "probe-key"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout.strip()


def test_a_private_process_environment_is_closed_to_its_own_user() -> None:
    assert _probe("default") == "read"  # what a job process could do before
    assert _probe("private") == "denied"
