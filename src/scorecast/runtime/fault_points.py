"""Fault-injection points: real crash points that end-to-end tests switch on by environment.

They exist so that a test can crash the service at the exact moment a guarantee is about;
nothing happens unless the variable is set in the service's environment (never in production).

- ``SCORECAST_FAULT_CRASH_AFTER_OUTPUT_COMMIT=<attempt>``: the job process of that attempt
  (``1`` for a job's first) kills its service with SIGKILL and exits right after its output's
  ``commit()`` returned, before the job's COMPLETED status is stored: a crash between the
  output's commit and the job's status update.
- ``SCORECAST_FAULT_PAUSE_AFTER_OUTPUT_COMMIT=<file>``: every job process waits, right after its
  output's ``commit()`` returned, for as long as ``<file>`` exists (at most ten minutes), so
  that a test can take the store away at that moment.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CRASH_AFTER_OUTPUT_COMMIT = "SCORECAST_FAULT_CRASH_AFTER_OUTPUT_COMMIT"
PAUSE_AFTER_OUTPUT_COMMIT = "SCORECAST_FAULT_PAUSE_AFTER_OUTPUT_COMMIT"
_MAX_PAUSE_SECONDS = 600.0


def after_output_commit(attempt: int) -> None:
    """Crash the service here when ``CRASH_AFTER_OUTPUT_COMMIT`` names ``attempt``; pause here
    while ``PAUSE_AFTER_OUTPUT_COMMIT``'s file exists."""
    wanted = os.environ.get(CRASH_AFTER_OUTPUT_COMMIT, "").strip()
    if wanted and wanted == str(attempt):
        os.kill(os.getppid(), signal.SIGKILL)  # the job process's parent is its service
        os._exit(70)
    pause = os.environ.get(PAUSE_AFTER_OUTPUT_COMMIT, "").strip()
    if pause:
        deadline = time.monotonic() + _MAX_PAUSE_SECONDS
        while Path(pause).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
