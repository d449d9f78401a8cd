from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the model zoo is shared with tests/predictors
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "predictors"))

from model_zoo import BuiltModel, shared_zoo


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, BuiltModel]:
    return shared_zoo(tmp_path_factory, worker_id)
