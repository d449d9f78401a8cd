"""The operator's rule on models that run code when loaded, over every combination."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.config import PICKLE_MODEL_ROLES, Settings
from scorecast.domain.model_description import ModelDescription
from scorecast.errors import JobFailure, PermissionDenied, UnsupportedFeature
from scorecast.service.caller import Caller
from scorecast.service.trusted_models import (
    UNPICKLED_FORMATS,
    check_may_register,
    check_may_score,
)

BASE = Settings(home=Path("home"), database_url="sqlite://")
roles = st.frozensets(st.sampled_from(PICKLE_MODEL_ROLES), min_size=1)


@given(allow=st.booleans(), allowed=roles, is_admin=st.booleans(), trust=st.booleans())
def test_only_the_operator_setting_and_an_allowed_role_let_a_pickle_in(
    allow: bool, allowed: frozenset[str], is_admin: bool, trust: bool
) -> None:
    settings = replace(BASE, allow_pickle_models=allow, pickle_model_roles=allowed)
    caller = Caller(org_id="o", user_id="u", username="u", is_admin=is_admin)
    may = "user" in allowed or (is_admin and "admin" in allowed)
    if not trust:
        check_may_register(settings, caller, trust_pickle=False)  # nothing to decide
    elif not allow:
        with pytest.raises(UnsupportedFeature) as refused:
            check_may_register(settings, caller, trust_pickle=True)
        assert set(refused.value.errors) == {"trustPickle"}
        assert "SCORECAST_ALLOW_PICKLE_MODELS" in refused.value.message
    elif not may:
        with pytest.raises(PermissionDenied) as denied:
            check_may_register(settings, caller, trust_pickle=True)
        assert set(denied.value.errors) == {"trustPickle"}
    else:
        check_may_register(settings, caller, trust_pickle=True)


@given(
    fmt=st.sampled_from(["onnx", "skops", "pickle", "lightgbm", "xgboost", "mlflow"]),
    allow=st.booleans(),
)
def test_a_stored_model_that_needs_unpickling_scores_only_while_allowed(
    fmt: str, allow: bool
) -> None:
    description = ModelDescription(
        format=fmt, target="t", target_type="regression", features=[], sha256="0"
    )
    settings = replace(BASE, allow_pickle_models=allow)
    if fmt in UNPICKLED_FORMATS and not allow:
        with pytest.raises(JobFailure, match="SCORECAST_ALLOW_PICKLE_MODELS is off"):
            check_may_score(settings, description)
    else:
        check_may_score(settings, description)
