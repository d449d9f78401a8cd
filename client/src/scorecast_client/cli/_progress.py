"""Live progress of jobs from the server's figures (``percentageCompleted``, ``scoredRows``,
``failedRows``, ``rowsPerSecond``, ``etaSeconds``): a bar on a terminal, else one line on stderr
each time a figure changes. The SDK's ``wait`` polls at most once a second per job.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Any

from scorecast_client._models import JobData
from scorecast_client.cli._common import plain


def describe(job: JobData) -> str:
    """One line: ``RUNNING 40% 1,234 rows scored, 0 failed, 5,000 rows/s, ETA 3 s``."""
    parts = [f"{job['status']} {float(job.get('percentageCompleted') or 0):.0f}%"]
    scored, failed = int(job.get("scoredRows") or 0), int(job.get("failedRows") or 0)
    parts.append(f"{scored:,} rows scored, {failed:,} failed")
    rate = job.get("rowsPerSecond")
    if rate is not None and job["status"] == "RUNNING":
        parts.append(f"{float(rate):,.0f} rows/s")
    eta = job.get("etaSeconds")
    if eta is not None and job["status"] == "RUNNING":
        parts.append(f"ETA {format_seconds(float(eta))}")
    return ", ".join(parts)


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 03 min``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressDisplay:
    """Shows several jobs' progress until closed; ``update(job)`` after each poll."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._last: dict[str, str] = {}
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            console = Console(stderr=True, no_color=True if os.environ.get("NO_COLOR") else None)
            self._bar = Progress(  # the server's text is shown, never read as markup
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TextColumn("{task.fields[figures]}", markup=False),
                console=console,
                transient=False,
            )
            self._bar.start()

    def update(self, job: JobData) -> None:
        if not self.enabled:
            return
        line = describe(job)
        if self._bar is not None:
            task = self._tasks.get(job["id"])
            if task is None:
                task = self._bar.add_task(plain(job["id"]), total=100.0, figures="")
                self._tasks[job["id"]] = task
            self._bar.update(
                task, completed=float(job.get("percentageCompleted") or 0), figures=plain(line)
            )
        elif self._last.get(job["id"]) != line:
            print(plain(f"{job['id']}: {line}"), file=sys.stderr, flush=True)
        self._last[job["id"]] = line

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
