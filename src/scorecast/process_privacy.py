"""Keeping the service process's memory and environment from its own child processes.

A job or inspection process runs as the same Unix user as the service, and may run a model's
code (an operator-allowed pickle). Such a process is not given the credential key
(``child_process.WITHHELD_VARIABLES``), but on Linux a process of the same user could read
the service's environment (``/proc/<pid>/environ``, which keeps ``SCORECAST_SECRET_KEY``) and
memory (``/proc/<pid>/mem``, ``ptrace``). ``keep_memory_private`` marks the service
non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``), which closes both to every process but root's.
It does not carry over to the children (``execve`` makes them dumpable again), and it also
means no core dumps and no debugger attaching without root.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

#: linux/prctl.h
PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4


def keep_memory_private() -> bool:
    """Mark this process non-dumpable where the platform allows it (Linux); whether it did."""
    prctl = _prctl()
    return prctl is not None and prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0


def is_dumpable() -> bool | None:
    """Whether this process is dumpable (None where that cannot be told)."""
    prctl = _prctl()
    return None if prctl is None else bool(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))


@functools.cache
def _prctl() -> ctypes._FuncPointer | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: ctypes._FuncPointer = libc.prctl
    prctl.restype = ctypes.c_int
    return prctl
