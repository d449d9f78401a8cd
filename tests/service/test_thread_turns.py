"""``give_way``: a long loop gives the GIL away once every ``ROWS_PER_TURN`` rows, no more."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from scorecast.service import thread_turns
from scorecast.service.thread_turns import ROWS_PER_TURN, give_way


def test_a_turn_is_given_once_per_rows_per_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    # the module's own ``time`` only: other threads of the test process keep the real sleep
    monkeypatch.setattr(thread_turns, "time", SimpleNamespace(sleep=pauses.append))
    for number in range(4 * ROWS_PER_TURN + 3):
        give_way(number)
    assert pauses == [0, 0, 0, 0]
