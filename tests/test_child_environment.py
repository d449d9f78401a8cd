"""What a child process of the service is given: no credential key, no store URL, no state
folder in its environment, and an owner-only umask."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.child_process import WITHHELD_VARIABLES, call_in_child, child_environment
from scorecast.state_folder import OWNER_ONLY_UMASK


def test_a_child_sees_no_key_no_store_and_no_state_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in WITHHELD_VARIABLES:
        monkeypatch.setenv(name, f"value of {name}")
    monkeypatch.setenv("SCORECAST_FILE_ROOTS", "/srv/data")
    for name in WITHHELD_VARIABLES:
        assert call_in_child("os", "getenv", name) is None, name
    assert call_in_child("os", "getenv", "SCORECAST_FILE_ROOTS") == "/srv/data"  # the rest stays


def test_a_child_creates_files_owner_only() -> None:
    previous = os.umask(0o022)
    try:
        assert call_in_child("os", "umask", 0o022) == OWNER_ONLY_UMASK
    finally:
        os.umask(previous)


@given(st.dictionaries(st.sampled_from([*WITHHELD_VARIABLES, "PATH", "HOME", "X"]), st.text()))
def test_child_environment_drops_exactly_the_withheld_variables(environ: dict[str, str]) -> None:
    kept = child_environment(environ)
    assert kept == {k: v for k, v in environ.items() if k not in WITHHELD_VARIABLES}
