"""Store rows for runtime tests: an organization, a user, jobs and definitions, written directly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition, Organization, User
from scorecast.store.types import utcnow


def org_and_user(engine: Engine, name: str = "org-a") -> tuple[str, str]:
    with session_scope(engine) as session:
        org = Organization(name=name)
        session.add(org)
        session.flush()
        user = User(org_id=org.id, username=f"admin@{name}", is_admin=True)
        session.add(user)
        session.flush()
        return org.id, user.id


def add_job(
    engine: Engine,
    org_id: str,
    user_id: str,
    *,
    created: datetime | None = None,
    definition_id: str | None = None,
    **values: Any,
) -> str:
    fields: dict[str, Any] = {
        "status": "INITIALIZING",
        "queued": True,
        "intake_ready": True,
        "spec": {
            "deploymentId": "0" * 24,
            "numConcurrent": 1,
            "intakeSettings": {"type": "localFile"},
        },
    }
    fields.update(values)
    with session_scope(engine) as session:
        job = Job(
            org_id=org_id,
            deployment_id="0" * 24,
            created_by=user_id,
            created=created or utcnow(),
            definition_id=definition_id,
            **fields,
        )
        session.add(job)
        session.flush()
        return job.id


def add_jobs(engine: Engine, org_id: str, user_id: str, count: int) -> list[str]:
    start = utcnow() - timedelta(hours=1)
    return [
        add_job(engine, org_id, user_id, created=start + timedelta(seconds=i)) for i in range(count)
    ]


def add_definition(engine: Engine, org_id: str, user_id: str, **values: Any) -> str:
    with session_scope(engine) as session:
        definition = JobDefinition(
            org_id=org_id,
            name=values.pop("name", "nightly"),
            deployment_id="0" * 24,
            job_spec=values.pop("job_spec", {"deploymentId": "0" * 24}),
            created_by=user_id,
            updated_by=user_id,
            **values,
        )
        session.add(definition)
        session.flush()
        return definition.id


EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
}


def add_deployment(engine: Engine, org_id: str, user_id: str) -> str:
    """A deployment row of a binary model (jobs can be created against it; none is loaded)."""
    from scorecast.predictors.base import Feature, ModelDescription
    from scorecast.store.models import Deployment

    description = ModelDescription(
        format="onnx",
        target="readmitted",
        target_type="binary",
        features=[Feature("age"), Feature("visits")],
        sha256="0" * 64,
        class_labels=["no", "yes"],
        positive_class="yes",
    )
    with session_scope(engine) as session:
        deployment = Deployment(
            org_id=org_id,
            label="readmission",
            artifact_path="none.onnx",
            model=description.to_dict(),
            created_by=user_id,
        )
        session.add(deployment)
        session.flush()
        return deployment.id


def local_spec(deployment_id: str) -> dict[str, Any]:
    return {
        "deploymentId": deployment_id,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }
