from __future__ import annotations

from pathlib import Path

import pytest
from model_zoo import BuiltModel, build_all


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltModel]:
    directory: Path = tmp_path_factory.mktemp("models")
    return build_all(directory)
