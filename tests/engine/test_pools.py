"""Scoring threads share the cores for native threads, as worker processes do."""

from __future__ import annotations

from model_zoo import BuiltModel
from threadpoolctl import threadpool_info

from scorecast.domain.scoring_options import ScoringOptions
from scorecast.engine import pools
from scorecast.predictors import describe_model, load_predictor


def _openmp_threads() -> set[int]:
    """The OpenMP thread count the calling thread would use, per OpenMP library loaded."""
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"}


def test_each_scoring_thread_caps_its_openmp_threads_and_the_cap_is_undone(
    zoo: dict[str, BuiltModel],
) -> None:
    model = zoo["skops_hgb_binary"]  # HistGradientBoosting predicts with OpenMP
    description = describe_model(model.path, target="y", target_type="binary", positive_class=None)
    assert description.parallelism == "threads"
    predictor = load_predictor(model.path, description)
    share = pools.native_threads_per_process(2)
    before = _openmp_threads()
    assert before and min(before) >= share

    pool, ready, mode = pools.start_pool(predictor, description, ScoringOptions(), model.path, 2)
    assert pool is not None and ready is None
    try:
        # OpenMP's setting belongs to each thread: a pool thread that did not cap its own
        # would use every core
        in_pool = [pool.submit(_openmp_threads).result() for _ in range(8)]
    finally:
        pool.shutdown()
    assert mode == f"2 threads, {share} native thread(s) each"
    assert all(threads == {share} for threads in in_pool)
    assert _openmp_threads() == before
