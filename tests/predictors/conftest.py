from __future__ import annotations

import pytest
from model_zoo import BuiltModel, shared_zoo


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, BuiltModel]:
    return shared_zoo(tmp_path_factory, worker_id)
