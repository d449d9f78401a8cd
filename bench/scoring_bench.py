"""Scoring benchmark: scorecast against what a user would write, and against the bare pipeline.

Creates in a temp dir a CSV of ``--rows`` rows (id + 20 numeric + 5 string categoricals of
cardinality 5 to 500) and two models (one-hot + logistic regression; ordinal-encoded 100-tree
gradient boosting), then measures for each model, each scenario in a fresh process:

(a) ``pandas``: ``read_csv`` of the whole file → ``predict_proba`` → ``to_csv``;
(b) ``arrow-1p`` / ``arrow-2p``: pyarrow's CSV reader in 16 MB blocks → model → pyarrow's CSV
    writer, in one process and split over two processes (byte ranges at line boundaries; each
    process limited to its share of the cores for OpenMP/BLAS threads);
(c) ``service``: a scorecast job through a real ``scorecast serve`` (fresh, SQLite, its own temp
    ``SCORECAST_HOME``, started per measurement): both models registered with ``POST
    deployments/fromModelFile/`` as the same ``.skops`` files, the job submitted with the
    official ``datarobot`` client's ``BatchPredictionJob.score_to_file`` (localFile in and out,
    ``num_concurrent=2``, passthrough ``id``), once the server has settled (its tree idle: the
    warm job process has imported its libraries, as in a service that is already running);
    wall clock from submit to the downloaded file, memory of the server's process tree during
    the job. Run once on the full input and once on
    a fifth of it (memory growth for a fivefold input);
(c') ``inproc``: the same job through ``scorecast.engine.run_job`` in a fresh process, without
    the service (upload, queue, download) — an extra line, not the issue's (c).

The models are registered as skops rather than ONNX: ONNX tree ensembles compare float32
features with float32 thresholds, so their predictions are not (a)'s to 1e-6 and it would not
be the same model. The service's predictions are checked against (a)'s to 1e-6 on a random
sample of rows (matched by ``id``).

It prints wall-clock rows/s, MB/s of input, and the peak RSS and PSS of the process tree (the
sum over the scenario's process — for (c) the server — and all its children, sampled every
100 ms), then the ratios the issue sets targets for.
Run: ``python bench/scoring_bench.py [--rows 200000] [--models lr,hgb] [--scenarios ...]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _serve import PeakMemory, Serve, load_average, wait_until_idle

NUMERIC = [f"x{i}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
CARDINALITY = [5, 20, 50, 200, 500]
BLOCK_BYTES = 16 << 20


def num_concurrent() -> int:
    """``numConcurrent`` for (c) and (c'): ``--num-concurrent``, passed on in the environment."""
    return int(os.environ.get("SCORECAST_BENCH_NUM_CONCURRENT") or 2)


# --- setup ------------------------------------------------------------------------------------


def make_data(path: Path, rows: int, seed: int = 0) -> None:
    marker = path.with_suffix(".rows")
    if path.exists() and marker.exists() and marker.read_text() == str(rows):
        return  # reuse the input of an earlier run in the same --workdir
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    step = 200_000
    with pacsv.CSVWriter(path, _schema()) as writer:
        for start in range(0, rows, step):
            n = min(step, rows - start)
            columns: dict[str, Any] = {"id": np.arange(start, start + n)}
            for name in NUMERIC:
                columns[name] = rng.normal(size=n).round(6)
            for name, size in zip(CATEGORICAL, CARDINALITY, strict=True):
                columns[name] = np.char.add(f"{name}_", rng.integers(0, size, n).astype(str))
            writer.write_table(pa.table(columns, schema=_schema()))
    path.with_suffix(".rows").write_text(str(rows))


def _schema() -> Any:
    import pyarrow as pa

    fields = [("id", pa.int64())] + [(n, pa.float64()) for n in NUMERIC]
    return pa.schema(fields + [(n, pa.string()) for n in CATEGORICAL])


def make_models(data: Path, directory: Path) -> dict[str, Path]:
    import numpy as np
    import pandas as pd
    import skops.io
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    frame = pd.read_csv(data, nrows=50_000)
    signal = frame[NUMERIC[:5]].sum(axis=1) + (frame.c0 == "c0_1") * 2
    target = np.where(signal + np.random.default_rng(1).normal(size=len(frame)) > 0, "yes", "no")
    lr = make_pipeline(
        make_column_transformer(
            (StandardScaler(), NUMERIC), (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)
        ),
        LogisticRegression(max_iter=300),
    )
    hgb = make_pipeline(
        make_column_transformer(
            (
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                CATEGORICAL,
            ),
            remainder="passthrough",
        ),
        HistGradientBoostingClassifier(max_iter=100, early_stopping=False),
    )
    paths = {}
    for name, model in (("lr", lr), ("hgb", hgb)):
        model.fit(frame[NUMERIC + CATEGORICAL], target)
        paths[name] = directory / f"{name}.skops"
        skops.io.dump(model, paths[name])
    return paths


# --- scenarios (each runs in its own process) ---------------------------------------------------


def _load(model_path: str) -> Any:
    import skops.io

    return skops.io.load(model_path, trusted=skops.io.get_untrusted_types(file=model_path))


def scenario_pandas(model_path: str, source: str, target: str) -> None:
    import pandas as pd

    model = _load(model_path)
    frame = pd.read_csv(source)
    probabilities = model.predict_proba(frame[NUMERIC + CATEGORICAL])
    out = pd.DataFrame({"id": frame.id})
    for index, label in enumerate(model.classes_):
        out[f"y_{label}_PREDICTION"] = probabilities[:, index]
    out.to_csv(target, index=False)


def _arrow_stream(model: Any, source: Any, target: str, names: list[str] | None) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read_options = pacsv.ReadOptions(block_size=BLOCK_BYTES, column_names=names)
    reader = pacsv.open_csv(source, read_options=read_options)
    writer = None
    for batch in reader:
        frame = batch.to_pandas()
        probabilities = model.predict_proba(frame[NUMERIC + CATEGORICAL])
        columns = {"id": batch.column("id")}
        for index, label in enumerate(model.classes_):
            columns[f"y_{label}_PREDICTION"] = pa.array(probabilities[:, index])
        out = pa.record_batch(columns)
        if writer is None:
            writer = pacsv.CSVWriter(target, out.schema)
        writer.write_batch(out)
    if writer is not None:
        writer.close()


def scenario_arrow_1p(model_path: str, source: str, target: str) -> None:
    _arrow_stream(_load(model_path), source, target, None)


class _ByteRange:
    """A read-only file object over bytes [start, end) of a file."""

    def __init__(self, path: str, start: int, end: int) -> None:
        self._handle = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._handle.seek(start)
        self._left = end - start
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._handle.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._handle.close()
        self.closed = True


def _arrow_part(args: tuple[str, str, str, int, int, list[str]]) -> None:
    from threadpoolctl import threadpool_limits

    model_path, source, target, start, end, names = args
    model = _load(model_path)
    # each of the 2 processes gets its share of the cores for OpenMP/BLAS (with all of them
    # each, the tree model's 2 processes oversubscribe the cores: 8.8 s instead of 4.7 s);
    # after loading the model, so that its native libraries are there to be limited
    threadpool_limits(limits=max(1, (os.cpu_count() or 2) // 2))
    _arrow_stream(model, _ByteRange(source, start, end), target, names)


def scenario_arrow_2p(model_path: str, source: str, target: str) -> None:
    import concurrent.futures as cf
    import multiprocessing

    size = os.path.getsize(source)
    with open(source, "rb") as handle:
        header = handle.readline()
        body_start = handle.tell()
        handle.seek(body_start + (size - body_start) // 2)
        handle.readline()
        middle = handle.tell()
    names = next(csv.reader([header.decode()]))
    parts = [
        (model_path, source, f"{target}.part{i}", start, end, names)
        for i, (start, end) in enumerate(((body_start, middle), (middle, size)))
    ]
    context = multiprocessing.get_context("forkserver")
    with cf.ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(_arrow_part, parts))


def scenario_inproc(model_path: str, source: str, target: str) -> None:
    from scorecast.domain.job_spec import JobSpec
    from scorecast.engine import run_job
    from scorecast.predictors import describe_model
    from scorecast.testing import PathIntake, PathOutput

    description = describe_model(
        Path(model_path), target="y", target_type="binary", positive_class="yes"
    )
    spec = JobSpec.from_wire(
        {
            "deploymentId": "bench",
            "intakeSettings": {"type": "localFile"},
            "passthroughColumns": ["id"],
            "numConcurrent": num_concurrent(),
            "chunkSize": int(os.environ.get("SCORECAST_BENCH_CHUNK_SIZE") or 0) or "auto",
        }
    )
    intake, output = PathIntake(Path(source)), PathOutput(Path(target))
    outcome = run_job(
        spec,
        intake,
        output,
        artifact=Path(model_path),
        description=description,
        report=lambda progress: None,
        should_abort=lambda: False,
        log=lambda line: print(f"    job log: {line}", file=sys.stderr),
    )
    intake.close()
    output.commit()
    print(json.dumps({"rows": outcome.rows_scored, "failed": outcome.rows_failed}))


SCENARIOS = {
    "pandas": scenario_pandas,
    "arrow-1p": scenario_arrow_1p,
    "arrow-2p": scenario_arrow_2p,
    "inproc": scenario_inproc,
}
LABELS = {
    "pandas": "(a) pandas",
    "arrow-1p": "(b) arrow 1 proc",
    "arrow-2p": "(b) arrow 2 procs",
    "service": "(c) service",
    "inproc": "(c') in-process",
}


# --- measurement ------------------------------------------------------------------------------


def measure(scenario: str, model: Path, source: Path, target: Path) -> tuple[float, float, float]:
    """(seconds, peak RSS, peak PSS) of one scenario in a fresh process; memory in MB.

    Both memory figures are summed over the scenario's process and all its children (see
    ``_serve.PeakMemory``).
    """
    if scenario == "service":
        return measure_service(model, source, target)
    command = [sys.executable, __file__, "--run", scenario, str(model), str(source), str(target)]
    started = time.perf_counter()
    child = subprocess.Popen(command)
    with PeakMemory(child.pid) as peak:
        child.wait()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"scenario {scenario} failed with exit code {child.returncode}")
    return seconds, peak.peak_rss / 1e6, peak.peak_pss / 1e6


def measure_service(model: Path, source: Path, target: Path) -> tuple[float, float, float]:
    """(seconds, peak RSS, peak PSS) of one job through a fresh ``scorecast serve``; MB.

    Seconds run from submit to the downloaded file (upload, queue, scoring, download); memory is
    the server's process tree (the API, scheduler and worker process and its scoring workers),
    not the client's. The server is started before and stopped after, outside the timing.
    """
    home = Path(tempfile.mkdtemp(prefix="home-", dir=target.parent))
    try:
        with Serve(home, "--workers", "1") as server:
            deployment = server.register(
                model, targetName="y", targetType="binary", positiveClass="yes"
            )
            server.connect_client()
            wait_until_idle(server.pid)  # a running service: its warm job process is ready
            with PeakMemory(server.pid) as peak:
                started = time.perf_counter()
                server.score_to_file(
                    deployment,
                    source,
                    target,
                    passthrough_columns=["id"],
                    num_concurrent=num_concurrent(),
                )
                seconds = time.perf_counter() - started
            print(
                f"    idle server before the job: RSS {peak.baseline_rss / 1e6:,.0f} MB, "
                f"PSS {peak.baseline_pss / 1e6:,.0f} MB",
                flush=True,
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return seconds, peak.peak_rss / 1e6, peak.peak_pss / 1e6


def check_predictions(reference: Path, scored: Path, sample: int = 10_000) -> str:
    """Compare ``scored``'s class probabilities with (a)'s on ``sample`` random ids (1e-6)."""
    import numpy as np
    import pandas as pd

    columns = ["id", "y_no_PREDICTION", "y_yes_PREDICTION"]
    theirs = pd.read_csv(reference, usecols=columns).set_index("id")
    ours = pd.read_csv(scored, usecols=columns).set_index("id")
    if len(ours) != len(theirs) or not ours.index.equals(theirs.index):
        return f"MISMATCH: {len(ours):,} rows / ids vs (a)'s {len(theirs):,}"
    rng = np.random.default_rng(2)
    ids = rng.choice(theirs.index.to_numpy(), size=min(sample, len(theirs)), replace=False)
    difference = float(
        (ours.loc[ids, columns[1:]] - theirs.loc[ids, columns[1:]]).abs().max().max()
    )
    verdict = "OK" if difference <= 1e-6 else "MISMATCH"
    return f"{verdict}: max |difference| {difference:.1e} over {len(ids):,} sampled rows"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--models", default="lr,hgb")
    parser.add_argument("--scenarios", default="pandas,arrow-1p,arrow-2p,service,inproc")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--chunk-size", type=int, default=None, help="bytes, (c') only; 'auto'")
    parser.add_argument("--num-concurrent", type=int, default=2, help="for (c); default 2")
    parser.add_argument("--run", nargs=4, metavar=("SCENARIO", "MODEL", "SOURCE", "TARGET"))
    args = parser.parse_args()
    if args.run:
        scenario, model, source, target = args.run
        SCENARIOS[scenario](model, source, target)
        return
    os.environ["SCORECAST_BENCH_NUM_CONCURRENT"] = str(args.num_concurrent)
    if args.chunk_size:
        os.environ["SCORECAST_BENCH_CHUNK_SIZE"] = str(args.chunk_size)
    scenarios = args.scenarios.split(",")
    unknown = set(scenarios) - set(LABELS)
    if unknown:
        raise SystemExit(f"--scenarios: unknown {sorted(unknown)}; known: {', '.join(LABELS)}")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="scorecast-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    data, small = workdir / "input.csv", workdir / "input_fifth.csv"
    print(f"workdir {workdir}; generating {args.rows:,} rows ...", flush=True)
    make_data(data, args.rows)
    make_data(small, max(args.rows // 5, 1))
    size_mb = data.stat().st_size / 1e6
    print(f"input {size_mb:.0f} MB; training models ...", flush=True)
    models = make_models(data, workdir)
    print(f"{os.cpu_count()} cores; load average {load_average()} before the runs", flush=True)
    results: dict[tuple[str, str], tuple[float, float, float]] = {}
    for name in args.models.split(","):
        for scenario in scenarios:
            target = workdir / f"out-{name}-{scenario}.csv"
            seconds, rss, pss = measure(scenario, models[name], data, target)
            results[(name, scenario)] = (seconds, rss, pss)
            print(
                f"{name:4} {LABELS[scenario]:18} {args.rows / seconds:>10,.0f} rows/s "
                f"{size_mb / seconds:7.1f} MB/s  peak RSS {rss:7,.0f} MB  PSS {pss:7,.0f} MB"
                f"  ({seconds:.1f} s; load average {load_average()})",
                flush=True,
            )
        if "service" in scenarios and "pandas" in scenarios:
            reference, scored = (workdir / f"out-{name}-{s}.csv" for s in ("pandas", "service"))
            print(f"{name:4} (c) predictions vs (a): {check_predictions(reference, scored)}")
        if "service" in scenarios:
            seconds, rss, pss = measure("service", models[name], small, workdir / "out-small.csv")
            results[(name, "service-fifth")] = (seconds, rss, pss)
            print(
                f"{name:4} (c) service on a fifth of the input ({max(args.rows // 5, 1):,} rows): "
                f"peak RSS {rss:,.0f} MB, PSS {pss:,.0f} MB",
                flush=True,
            )
    print("\nratios (throughput; memory)")
    for name in args.models.split(","):
        _ratios(name, results, args.rows)


def _ratios(
    name: str, results: dict[tuple[str, str], tuple[float, float, float]], rows: int
) -> None:
    def speed(scenario: str) -> float | None:
        entry = results.get((name, scenario))
        return rows / entry[0] if entry else None

    pandas_speed = speed("pandas")
    bare = [s for s in (speed("arrow-1p"), speed("arrow-2p")) if s is not None]
    for scenario in ("service", "inproc"):
        ours = speed(scenario)
        label = LABELS[scenario]
        if ours and pandas_speed:
            mine, theirs = results[(name, scenario)], results[(name, "pandas")]
            print(
                f"{name}: {label} / pandas = {ours / pandas_speed:.2f}x (target >= 1.2, aim 1.5); "
                f"memory / pandas = {mine[1] / theirs[1]:.3f} RSS, "
                f"{mine[2] / theirs[2]:.3f} PSS (target < 1/3 = 0.333)"
            )
        if ours and bare:
            print(f"{name}: {label} / best bare pipeline = {ours / max(bare):.2f}x (target >= 0.9)")
    if (name, "service-fifth") in results and (name, "service") in results:
        full, fifth = results[(name, "service")], results[(name, "service-fifth")]
        print(
            f"{name}: (c) service memory growth for 5x the input = {full[1] / fifth[1] - 1:+.0%} "
            f"RSS, {full[2] / fifth[2] - 1:+.0%} PSS (target < +10%)"
        )


if __name__ == "__main__":
    main()
