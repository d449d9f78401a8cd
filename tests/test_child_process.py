"""``call_in_child``: a function run in a fresh interpreter, its result or its error back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scorecast.child_process import ChildDied, call_in_child
from scorecast.errors import InvalidInput, ScorecastError


def test_the_result_comes_back() -> None:
    assert call_in_child("math", "factorial", 10) == 3_628_800


def test_the_error_comes_back_whole() -> None:
    with pytest.raises(json.JSONDecodeError):
        call_in_child("json", "loads", "{")
    with pytest.raises(InvalidInput) as caught:
        call_in_child("scorecast.formats.dialect", "is_ascii_compatible", "no-such-codec")
    assert caught.value.errors == {"csvSettings": {"encoding": "unknown encoding 'no-such-codec'"}}


def test_what_cannot_be_pickled_comes_back_as_its_text() -> None:
    with pytest.raises(ScorecastError, match="cannot be sent back"):
        call_in_child("threading", "Lock")


def test_a_child_that_dies_is_named() -> None:
    with pytest.raises(ChildDied, match=r"os\._exit ended with code 3"):
        call_in_child("os", "_exit", 3)


def test_the_child_does_not_see_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shadow_module_x.py").write_text("VALUE = 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModuleNotFoundError):
        call_in_child("shadow_module_x", "VALUE")
