"""SCORECAST_SCORING_PARALLELISM: the operator sends every model's chunks to threads or to
worker processes, whatever the model would choose."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
from demo_jobs import score_demo

from scorecast.config import Settings
from scorecast.errors import InvalidInput


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # the demo model is ONNX, which scores in threads unless told otherwise
    return replace(settings, scoring_parallelism="processes")


@pytest.mark.e2e
def test_the_setting_sends_a_threaded_model_to_worker_processes(live_runtime: Any) -> None:
    with httpx.Client(
        base_url=live_runtime.url + "/", headers=live_runtime.headers(), timeout=60
    ) as http:
        state = score_demo(http, numConcurrent=2, chunkSize=2000)  # 7 chunks
    assert state["status"] == "COMPLETED", state
    assert state["scoredRows"] == 500
    assert any("and 1 worker process(es)" in line for line in state["logs"]), state["logs"]


@pytest.mark.parametrize("value", ["auto", "threads", "processes", " Threads "])
def test_the_setting_is_read_from_the_environment(value: str) -> None:
    env = {"SCORECAST_HOME": "home", "SCORECAST_SCORING_PARALLELISM": value}
    assert Settings.from_env(env).scoring_parallelism == value.strip().lower()
    assert Settings.from_env({"SCORECAST_HOME": "home"}).scoring_parallelism == "auto"


def test_an_unknown_value_is_refused_naming_the_variable() -> None:
    env = {"SCORECAST_HOME": "home", "SCORECAST_SCORING_PARALLELISM": "fibers"}
    with pytest.raises(InvalidInput, match="SCORECAST_SCORING_PARALLELISM must be one of auto, "):
        Settings.from_env(env)
