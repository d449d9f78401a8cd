"""Hypothesis's example counts: the full count in the full suite (``scripts/test``, CI), a
smaller one in the fast tier (``scripts/test-fast``).

``scripts/test-fast`` sets ``SCORECAST_HYPOTHESIS_PROFILE=fast``; ``conftest.py`` loads the
profile named there (``full`` when unset). A test that sets its own count writes
``max_examples=examples(N)``: ``N`` in the full suite, at most ``FAST_EXAMPLES`` in the fast
tier. Neither profile has a deadline: no test may depend on how fast the machine is.
"""

from __future__ import annotations

import os

from hypothesis import settings

PROFILE = os.environ.get("SCORECAST_HYPOTHESIS_PROFILE", "full")

#: the most examples a property gets in the fast tier
FAST_EXAMPLES = 20


def examples(full: int) -> int:
    """A property's example count: ``full``, or at most ``FAST_EXAMPLES`` in the fast tier."""
    return min(full, FAST_EXAMPLES) if PROFILE == "fast" else full


def load_profile() -> None:
    """Register both profiles and load the one ``SCORECAST_HYPOTHESIS_PROFILE`` names."""
    settings.register_profile("full", deadline=None)
    settings.register_profile("fast", deadline=None, max_examples=FAST_EXAMPLES)
    settings.load_profile(PROFILE)
