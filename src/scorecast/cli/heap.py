"""The garbage collector of a long-running ``scorecast serve`` process, tuned once it has
started.

A serving process holds some 160,000 objects of its own once started (FastAPI, SQLAlchemy,
pydantic, the app and its routes) that live as long as it does. Python's collector looks at
all of them at each full (generation 2) collection, a few hundred milliseconds of the GIL on
this project's 2-core machine, so every request in flight waited that long: the p99 of a list
page. ``settle`` collects once, then moves every object alive at that point to the permanent
generation (``gc.freeze``), which no collection looks at again, and raises the first
generation's threshold so that the objects of one request (hundreds of ORM rows, dicts and
tuples) mostly die before a collection looks at them instead of being promoted to older
generations.

Nothing here changes what is freed: reference counting frees almost everything; the collector
still collects cycles made after start-up; objects frozen at start-up are the ones that stay.
"""

from __future__ import annotations

import gc
from typing import Final

#: Allocations (minus deallocations) of container objects between young collections; Python's
#: default is 700.
YOUNG_THRESHOLD: Final = 20_000


def settle() -> None:
    """Freeze the objects of a started process and raise the young threshold (see above)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
