"""Letting the process's other threads run during a long stretch of Python work.

``serve`` runs the scheduler in the same interpreter as the API (the embedded default): while a
batch of fires is planned, pure Python for tens of milliseconds, a request thread got the GIL
back only at the interpreter's switch interval at each of its many hand-offs (the event loop,
its worker thread, each statement), and a page of jobs read while 10,000 definitions fired took
up to 40 to 60 ms instead of 4. A loop over many rows calls ``give_way(number)``: every
``ROWS_PER_TURN`` rows it releases the GIL for a moment (``time.sleep(0)``), so a waiting thread
takes it at once; alone in the process, it costs a system call.
"""

from __future__ import annotations

import time
from typing import Final

#: Rows of work between two turns given away (about 1 to 3 ms of a batch's planning).
ROWS_PER_TURN: Final = 256


def give_way(number: int) -> None:
    """Called with a loop's row number: gives the GIL away once every ``ROWS_PER_TURN`` rows."""
    if number % ROWS_PER_TURN == ROWS_PER_TURN - 1:
        time.sleep(0)
