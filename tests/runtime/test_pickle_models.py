"""Models whose loading runs code (pickle, joblib, MLflow) load only where the operator allows
them, for the roles it names, and the processes that load them get no credential key.

The models here are real scikit-learn pickles carrying a payload: unpickling them runs
``exec`` on a snippet that writes a report file (the process's environment and every
``Settings`` object it holds). A report that appears is code from a user's file that ran.
"""

from __future__ import annotations

import json
import pickle
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from cryptography.fernet import Fernet
from demo_jobs import until
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select

from live_api import LiveServer
from scorecast.config import Settings
from scorecast.service.accounts import create_token
from scorecast.service.caller import Caller
from scorecast.service.deployments import ModelUpload, register_model
from scorecast.store.db import session_scope
from scorecast.store.models import User

FORM = {"targetName": "label", "targetType": "binary", "positiveClass": "yes"}
ROWS = b"num_a,num_b\n1.0,2.0\n-3.0,-1.0\n0.5,0.25\n"
WITHHELD = ("SCORECAST_SECRET_KEY", "SCORECAST_HOME", "SCORECAST_DATABASE_URL")

_REPORT = """
import gc, json, os, sys, uuid
from scorecast.config import Settings
settings = [
    {"secret_key": s.secret_key, "database_url": s.database_url}
    for s in gc.get_objects() if isinstance(s, Settings)
]
report = {
    "environ": dict(os.environ),
    "settings": settings,
    "job_process": "scorecast.runtime.job_process" in sys.modules,
}
with open(os.path.join(%(folder)r, uuid.uuid4().hex + ".json"), "w") as handle:
    json.dump(report, handle)
"""


class _Payload:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[Any, tuple[str, dict[str, Any]]]:
        return (exec, (self.code, {}))


def _spy_model(folder: Path, path: Path) -> Path:
    """A working logistic regression whose unpickling writes a report into ``folder``."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(60, 2)), columns=["num_a", "num_b"])
    model = LogisticRegression().fit(frame, np.where(frame.num_a > 0, "yes", "no"))
    model.spy_ = _Payload(_REPORT % {"folder": str(folder)})  # type: ignore[attr-defined]
    path.write_bytes(pickle.dumps(model))
    return path


def _reports(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    return folder


@pytest.fixture
def spy_model(reports: Path, tmp_path: Path) -> Path:
    return _spy_model(reports, tmp_path / "model.pkl")


def _register(server: LiveServer, model: Path, token: str, **form: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/deployments/fromModelFile/",
        files={"file": (model.name, model.read_bytes())},
        data={**FORM, **form},
        headers=server.headers(token),
        timeout=60,
    )


def _admin_token(server: LiveServer, org: str = "org-a") -> str:
    with session_scope(server.engine) as session:
        return create_token(session, org, "operator-admin", is_admin=True)


def _score(server: LiveServer, token: str, deployment_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=server.url + "/", headers=server.headers(token), timeout=60) as http:
        job = http.post(
            "batchPredictions/",
            json={
                "deploymentId": deployment_id,
                "intakeSettings": {"type": "localFile"},
                "outputSettings": {"type": "localFile"},
            },
        ).json()
        assert http.put(job["links"]["csvUpload"], content=ROWS).status_code == 202
        state: dict[str, Any] = {}

        def ended() -> bool:
            state.update(http.get(job["links"]["self"]).json())
            return state["status"] in ("COMPLETED", "ABORTED", "FAILED")

        until(ended)
        return state


# --- the operator's setting is off (the default) ---------------------------------------------


def test_without_the_setting_no_token_makes_the_server_unpickle(
    live_server: LiveServer, spy_model: Path, reports: Path
) -> None:
    """Issue 14: a user of a second organization sent a pickle with trustPickle=true and it ran
    while the model was inspected. Now it is refused, naming the field, before any byte of it
    is read; an organization administrator is refused just the same."""
    assert not live_server.settings.allow_pickle_models
    tokens = [live_server.token_for("org-b", "mallory"), _admin_token(live_server)]
    for token in tokens:
        for trust in ("true", "false"):
            response = _register(live_server, spy_model, token, trustPickle=trust)
            assert response.status_code == 422, response.text
            assert "trustPickle" in response.json()["errors"], response.text
    assert _reports(reports) == []
    assert not any(live_server.settings.artifacts_dir.iterdir())


def test_the_setting_is_read_from_the_environment() -> None:
    defaults = Settings.from_env({"SCORECAST_HOME": "home"})
    assert (defaults.allow_pickle_models, defaults.pickle_model_roles) == (False, {"admin"})
    env = {
        "SCORECAST_HOME": "home",
        "SCORECAST_ALLOW_PICKLE_MODELS": "1",
        "SCORECAST_PICKLE_MODEL_ROLES": " User, admin ",
    }
    settings = Settings.from_env(env)
    assert (settings.allow_pickle_models, settings.pickle_model_roles) == (True, {"user", "admin"})


@pytest.mark.parametrize("roles", ["root", "admin,everyone", " , "])
def test_an_unknown_role_is_refused_naming_the_variable(roles: str) -> None:
    from scorecast.errors import InvalidInput

    env = {"SCORECAST_HOME": "home", "SCORECAST_PICKLE_MODEL_ROLES": roles}
    with pytest.raises(InvalidInput, match="SCORECAST_PICKLE_MODEL_ROLES") as caught:
        Settings.from_env(env)
    assert caught.value.errors == {"SCORECAST_PICKLE_MODEL_ROLES": "unknown role"}


# --- the operator allows pickle models for administrators -------------------------------------


class TestAllowedForAdministrators:
    @pytest.fixture
    def settings(self, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
        # the key in the service's environment, as an operator may give it
        key = Fernet.generate_key().decode()
        monkeypatch.setenv("SCORECAST_SECRET_KEY", key)
        return replace(settings, allow_pickle_models=True, secret_key=key)

    def test_a_user_without_the_role_is_refused_before_unpickling(
        self, live_server: LiveServer, spy_model: Path, reports: Path
    ) -> None:
        for token in (live_server.token, live_server.token_for("org-b", "mallory")):
            response = _register(live_server, spy_model, token, trustPickle="true")
            assert response.status_code == 403, response.text
            assert response.json()["errors"] == {"trustPickle": "only for role admin"}
        assert _reports(reports) == []
        assert not any(live_server.settings.artifacts_dir.iterdir())

    @pytest.mark.e2e
    def test_the_model_runs_without_the_credential_key(
        self, live_runtime: LiveServer, spy_model: Path, reports: Path
    ) -> None:
        """The inspection and job processes that unpickle the model find neither the key nor
        where it is in their environment, nor the key or the store's URL in their settings."""
        admin = _admin_token(live_runtime)
        response = _register(live_runtime, spy_model, admin, trustPickle="true")
        assert response.status_code == 201, response.text
        state = _score(live_runtime, admin, response.json()["id"])
        assert state["status"] == "COMPLETED", state
        assert state["scoredRows"] == 3

        found = _reports(reports)
        assert any(not report["job_process"] for report in found)  # the inspection
        in_jobs = [report for report in found if report["job_process"]]
        assert in_jobs and all(report["settings"] for report in in_jobs)
        key = live_runtime.settings.secret_key
        assert key
        for report in found:
            environ = report["environ"]
            assert not set(WITHHELD) & set(environ), sorted(environ)
            assert not any(key in value for value in environ.values())
            assert not any(
                str(live_runtime.settings.home) in value for value in environ.values()
            ), "the state folder (where secret.key lives) is named in the environment"
            for seen in report["settings"]:
                assert seen == {"secret_key": None, "database_url": ""}


class TestAllowedForEveryUser:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return replace(settings, allow_pickle_models=True, pickle_model_roles=frozenset({"user"}))

    def test_any_user_may_register_one(
        self, live_server: LiveServer, spy_model: Path, reports: Path
    ) -> None:
        response = _register(live_server, spy_model, live_server.token, trustPickle="true")
        assert response.status_code == 201, response.text
        assert response.json()["scorecastModel"]["format"] == "pickle"
        assert len(_reports(reports)) == 1

    def test_a_model_that_kills_its_loader_is_422_and_the_service_goes_on(
        self, live_server: LiveServer, onnx_binary_model: Path, tmp_path: Path
    ) -> None:
        crashing = tmp_path / "crash.pkl"
        crashing.write_bytes(pickle.dumps(_KillsItsProcess()))
        response = _register(live_server, crashing, live_server.token, trustPickle="true")
        assert response.status_code == 422, response.text
        assert "crashed the process that read it" in response.json()["message"]
        assert not any(live_server.settings.artifacts_dir.iterdir())
        onnx = _register(live_server, onnx_binary_model, live_server.token)
        assert onnx.status_code == 201


class _KillsItsProcess:
    """Unpickling this kills the process (as a model whose native loader crashes would)."""

    def __reduce__(self) -> tuple[object, tuple[int]]:
        import os

        return (os._exit, (70,))


# --- registered while allowed, scored after the operator turned it off -------------------------


@pytest.mark.e2e
def test_a_pickle_model_registered_earlier_fails_its_jobs_unread(
    live_runtime: LiveServer, spy_model: Path, reports: Path
) -> None:
    assert not live_runtime.settings.allow_pickle_models
    allowed = replace(live_runtime.settings, allow_pickle_models=True)
    with session_scope(live_runtime.engine) as session:
        alice = session.scalars(select(User).where(User.username == "alice")).one()
        caller = Caller(org_id=alice.org_id, user_id=alice.id, username="alice", is_admin=True)
        with spy_model.open("rb") as stream:
            deployment = register_model(
                session,
                caller,
                allowed,
                stream=stream,
                filename="model.pkl",
                declared=ModelUpload(
                    target="label", target_type="binary", positive_class="yes", trust_pickle=True
                ),
            )
        deployment_id = deployment.id
    inspected = _reports(reports)
    assert len(inspected) == 1
    state = _score(live_runtime, live_runtime.token, deployment_id)
    assert (state["status"], state["endReason"]) == ("ABORTED", "failed"), state
    assert "SCORECAST_ALLOW_PICKLE_MODELS is off" in state["statusDetails"], state
    assert _reports(reports) == inspected  # the job process never unpickled it


def test_serve_with_an_unknown_role_stops_with_one_message(tmp_path: Path) -> None:
    import os
    import subprocess

    env = {**os.environ, "SCORECAST_HOME": str(tmp_path), "SCORECAST_PICKLE_MODEL_ROLES": "root"}
    done = subprocess.run(
        [sys.executable, "-m", "scorecast", "serve", "--port", "0"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert "SCORECAST_PICKLE_MODEL_ROLES" in done.stderr
