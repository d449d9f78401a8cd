"""The engine: runs one job (intake → score in parallel → output in input order)."""

from __future__ import annotations

from scorecast.engine.runner import JobOutcome, Progress, run_job
from scorecast.engine.scoring import ScoredChunk, score_chunk

__all__ = ["JobOutcome", "Progress", "ScoredChunk", "run_job", "score_chunk"]
