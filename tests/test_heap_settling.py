"""``scorecast serve`` freezes its start-up objects and raises the young collection threshold
(``cli/heap.py``); run in a child interpreter, so that this one's collector stays as it is."""

from __future__ import annotations

import json
import subprocess
import sys

from scorecast.cli.heap import YOUNG_THRESHOLD

_SETTLE = """
import gc, json
from scorecast.api import app  # a serving process's modules
from scorecast.cli import heap
before = gc.get_threshold()
heap.settle()
kept = [[1]]  # a cycle-capable object made after settling is still collected when unreachable
kept.append(kept)
del kept
print(json.dumps({"frozen": gc.get_freeze_count(), "before": before,
                  "after": gc.get_threshold(), "collected": gc.collect()}))
"""


def test_settling_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SETTLE], capture_output=True, text=True, check=True, timeout=300
    )
    report = json.loads(done.stdout)
    assert report["frozen"] > 10_000
    assert report["after"] == [YOUNG_THRESHOLD, *report["before"][1:]]
    assert report["collected"] >= 1
