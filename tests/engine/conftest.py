from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the model zoo is shared with tests/predictors
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "predictors"))

from model_zoo import BuiltModel, build_all


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltModel]:
    return build_all(tmp_path_factory.mktemp("engine-models"))
