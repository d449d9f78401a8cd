"""What the API tests share: an organization's HTTP client, a seeded deployment, error checks.

The fixtures ``api_a`` (org-a's token), ``api_b`` (org-b's) and ``deployment_a`` (a deployment
row in org-a) are defined as ``*_fixture`` and imported by the test modules that use them.
``shared_api_a`` and ``shared_deployment_a`` are the same on the module's
``shared_live_server``, for tests of requests the server refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from scorecast.predictors.base import Feature, ModelDescription
from scorecast.store.db import session_scope
from scorecast.store.models import Deployment, Organization, User


def seed_deployment(
    live_server: Any, org_name: str, description: ModelDescription | None = None
) -> str:
    """A deployment in ``org_name`` (which must exist), as a store row: of ``description``, by
    default a binary model."""
    description = description or ModelDescription(
        format="onnx",
        target="readmitted",
        target_type="binary",
        features=[Feature("age"), Feature("visits")],
        sha256="0" * 64,
        class_labels=["no", "yes"],
        positive_class="yes",
    )
    with session_scope(live_server.engine) as session:
        org = session.query(Organization).filter_by(name=org_name).one()
        user = session.query(User).filter_by(org_id=org.id).first()
        assert user is not None
        deployment = Deployment(
            org_id=org.id,
            label=f"{description.target} ({org_name})",
            artifact_path=f"artifacts/none.{description.format}",
            model=description.to_dict(),
            created_by=user.id,
        )
        session.add(deployment)
        session.flush()
        return deployment.id


class Api:
    """An httpx client on the API root with one organization's token."""

    def __init__(self, live_server: Any, token: str) -> None:
        # generous: a loaded CI machine may take seconds to answer (httpx's default is 5 s)
        self.http = httpx.Client(
            base_url=live_server.url + "/",
            headers={"Authorization": f"Token {token}"},
            timeout=120.0,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)


def assert_json_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.fixture(name="api_a")
def api_a_fixture(live_server: Any) -> Iterator[Api]:
    api = Api(live_server, live_server.token)
    yield api
    api.http.close()


@pytest.fixture(name="api_b")
def api_b_fixture(live_server: Any) -> Iterator[Api]:
    api = Api(live_server, live_server.token_for("org-b", "bob"))
    yield api
    api.http.close()


@pytest.fixture(name="deployment_a")
def deployment_a_fixture(live_server: Any) -> str:
    return seed_deployment(live_server, "org-a")


@pytest.fixture(scope="module", name="shared_api_a")
def shared_api_a_fixture(shared_live_server: Any) -> Iterator[Api]:
    api = Api(shared_live_server, shared_live_server.token)
    yield api
    api.http.close()


@pytest.fixture(scope="module", name="shared_deployment_a")
def shared_deployment_a_fixture(shared_live_server: Any) -> str:
    return seed_deployment(shared_live_server, "org-a")
