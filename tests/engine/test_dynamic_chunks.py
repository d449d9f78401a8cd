"""chunkSize "dynamic": the chunk size follows the measured scoring time, the output does not."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from engine_specs import spec_for
from model_zoo import FEATURES, BuiltModel, training_frame

from scorecast.domain.chunk_sizing import START_CHUNK_BYTES, ChunkSizing
from scorecast.domain.job_spec import ChunkSize
from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import JobOutcome, run_job
from scorecast.engine.pools import native_threads_per_process
from scorecast.predictors import describe_model
from scorecast.testing import PathIntake, PathOutput

#: how run_job describes 2 scoring processes sharing this machine's cores
TWO_PROCESSES = (
    f"this process and 1 worker process(es), {native_threads_per_process(2)} native thread(s) each"
)
#: how run_job describes 2 scoring threads sharing them
TWO_THREADS = f"2 threads, {native_threads_per_process(2)} native thread(s) each"


#: scaled-down policies, so that a few MB of input show the size moving both ways; the targets
#: sit far from the measured rates, so that a loaded CI machine moves the size the same way:
#: SLOW shrinks below 1 MiB unless scoring runs above 100 MB/s, QUICK grows unless below 1 MB/s
SLOW = ChunkSizing(target_seconds=0.01, start_bytes=1 << 20, min_bytes=32 << 10, max_bytes=8 << 20)
QUICK = ChunkSizing(target_seconds=1.0, start_bytes=1 << 20, min_bytes=32 << 10, max_bytes=8 << 20)
ROWS = 40_000


@pytest.fixture(scope="module")
def narrow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 2.7 MB: only the features, so that scoring costs much per byte."""
    frame = training_frame(ROWS, seed=5)[FEATURES]
    frame.insert(0, "row_id", np.arange(ROWS))
    path = tmp_path_factory.mktemp("dynamic") / "narrow.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def wide_csv(narrow_csv: Path) -> Path:
    """About 19 MB: the same rows with a 400-byte column, so that scoring costs little per byte."""
    frame = pd.read_csv(narrow_csv)
    frame["note"] = [f"{i:0400d}" for i in range(ROWS)]
    path = narrow_csv.with_name("wide.csv")
    frame.to_csv(path, index=False)
    return path


def score(
    model: BuiltModel,
    source: Path,
    destination: Path,
    *,
    options: ScoringOptions,
    chunk_size: ChunkSize = "dynamic",
    num_concurrent: int = 2,
    logs: list[str] | None = None,
    chunk_sizing: ChunkSizing | None = None,
) -> JobOutcome:
    spec = spec_for(options, num_concurrent=num_concurrent, chunk_size=chunk_size)
    intake = PathIntake(source, "csv", spec.csv)
    output = PathOutput(destination, "csv", spec.csv)
    description = describe_model(
        model.path, target="y", target_type=model.target_type, positive_class=None
    )
    try:
        outcome = run_job(
            spec,
            intake,
            output,
            artifact=model.path,
            description=description,
            report=lambda _: None,
            should_abort=lambda: False,
            log=(logs if logs is not None else []).append,
            chunk_sizing=chunk_sizing,
        )
    finally:
        intake.close()
    output.commit()
    return outcome


def test_slow_chunks_shrink_quick_chunks_grow_and_the_output_is_that_of_a_fixed_size(
    zoo: dict[str, BuiltModel], narrow_csv: Path, wide_csv: Path, tmp_path: Path
) -> None:
    # slow: tree ensemble + explanations on narrow rows (measured 4-7 MB/s on 2 shared cores,
    # so 0.01 s of it is well below the 1 MiB start); scored in this process
    slow_options = ScoringOptions(passthrough_columns=("row_id",), max_explanations=3)
    logs: list[str] = []
    slow = score(
        zoo["skops_hgb_binary"],
        narrow_csv,
        tmp_path / "slow.csv",
        options=slow_options,
        num_concurrent=1,
        logs=logs,
        chunk_sizing=SLOW,
    )
    assert slow.chunk_bytes[0] < SLOW.start_bytes  # shrank
    assert slow.chunk_bytes[1] == SLOW.start_bytes  # never grew
    assert "dynamic chunk size" in logs[-1]
    # quick: a linear model on wide rows (measured 68-390 MB/s, and 11 MB/s once on a loaded CI
    # machine, so 1 s of it is above the start), in two threads
    quick = score(
        zoo["skops_linear_binary"],
        wide_csv,
        tmp_path / "quick.csv",
        options=ScoringOptions(passthrough_columns=("row_id",)),
        chunk_sizing=QUICK,
    )
    assert quick.parallelism == TWO_THREADS
    assert quick.chunk_bytes[0] == QUICK.start_bytes  # never shrank
    assert quick.chunk_bytes[1] > QUICK.start_bytes  # grew
    for outcome in (slow, quick):
        assert (outcome.rows_scored, outcome.rows_failed) == (ROWS, 0)

    fixed_slow = score(
        zoo["skops_hgb_binary"],
        narrow_csv,
        tmp_path / "fixed-slow.csv",
        options=slow_options,
        chunk_size=100_000,
    )
    fixed_quick = score(
        zoo["skops_linear_binary"],
        wide_csv,
        tmp_path / "fixed-quick.csv",
        options=ScoringOptions(passthrough_columns=("row_id",)),
        chunk_size=1 << 20,
    )
    assert fixed_slow.chunk_bytes == (100_000, 100_000)
    assert fixed_slow.chunks > slow.chunks and fixed_quick.chunks > quick.chunks
    assert (tmp_path / "slow.csv").read_bytes() == (tmp_path / "fixed-slow.csv").read_bytes()
    assert (tmp_path / "quick.csv").read_bytes() == (tmp_path / "fixed-quick.csv").read_bytes()


@pytest.mark.parametrize(
    ("name", "parallelism"),
    [("skops_linear_binary", TWO_THREADS), ("skops_forest_binary", TWO_PROCESSES)],
)
def test_the_service_policy_moves_from_4_mib_with_times_measured_where_chunks_score(
    zoo: dict[str, BuiltModel], wide_csv: Path, tmp_path: Path, name: str, parallelism: str
) -> None:
    logs: list[str] = []
    options = ScoringOptions(passthrough_columns=("row_id",))
    outcome = score(
        zoo[name],
        wide_csv,
        tmp_path / "dynamic.csv",
        options=options,
        chunk_size="dynamic",
        logs=logs,
    )
    assert outcome.parallelism == parallelism
    assert any("sized to score in about 0.25 s each" in line for line in logs)
    rate = re.search(r"scoring at about ([\d.]+) MB/s", logs[-1])
    # a chunk that reported no time (0 s) would count as a million times its size per second
    assert rate is not None and 1 < float(rate.group(1)) < 10_000
    # the size left 4 MiB for rate x 0.25 s: up here, down on a loaded machine (the rate can
    # cross 16.8 MB/s during the job, so either way, or both)
    smallest, largest = outcome.chunk_bytes
    assert smallest <= START_CHUNK_BYTES <= largest and smallest != largest
    auto = score(
        zoo[name],
        wide_csv,
        tmp_path / "auto.csv",
        options=options,
        chunk_size="auto",
    )
    assert auto.chunk_bytes == (START_CHUNK_BYTES, START_CHUNK_BYTES)
    assert (tmp_path / "dynamic.csv").read_bytes() == (tmp_path / "auto.csv").read_bytes()
