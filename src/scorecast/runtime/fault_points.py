"""Fault-injection points: real crash points that end-to-end tests switch on by environment.

They exist so that a test can crash the service at the exact moment a guarantee is about;
nothing happens unless the variable is set in the service's environment (never in production).

- ``SCORECAST_FAULT_CRASH_AFTER_OUTPUT_COMMIT=<attempt>``: the job process of that attempt
  (``1`` for a job's first) kills its service with SIGKILL and exits right after its output's
  ``commit()`` returned, before the job's COMPLETED status is stored: a crash between the
  output's commit and the job's status update.
"""

from __future__ import annotations

import os
import signal

CRASH_AFTER_OUTPUT_COMMIT = "SCORECAST_FAULT_CRASH_AFTER_OUTPUT_COMMIT"


def after_output_commit(attempt: int) -> None:
    """Crash the service here when ``CRASH_AFTER_OUTPUT_COMMIT`` names ``attempt``."""
    wanted = os.environ.get(CRASH_AFTER_OUTPUT_COMMIT, "").strip()
    if wanted and wanted == str(attempt):
        os.kill(os.getppid(), signal.SIGKILL)  # the job process's parent is its service
        os._exit(70)
