"""Definitions due on one moment, written directly in bulk (for the schedulers' tests)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert

from scorecast.store.db import session_scope
from scorecast.store.models import Deployment, JobDefinition, Organization, User
from scorecast.store.types import new_id


def add_due_definitions(engine: Engine, count: int, due: datetime) -> None:
    """``count`` enabled definitions firing daily at ``due``'s hour and minute, next at ``due``
    (rows written directly: a localFile intake, so their jobs wait for uploads, not workers)."""
    org, user, deployment = new_id(), new_id(), new_id()
    schedule = {
        "minute": [due.minute],
        "hour": [due.hour],
        "dayOfMonth": ["*"],
        "month": ["*"],
        "dayOfWeek": ["*"],
    }
    spec = {
        "deploymentId": deployment,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }
    with session_scope(engine) as session:
        session.execute(insert(Organization).values(id=org, name="split"))
        session.execute(insert(User).values(id=user, org_id=org, username="admin@split"))
        session.execute(
            insert(Deployment).values(
                id=deployment,
                org_id=org,
                label="model",
                artifact_path="none.onnx",
                model={},
                created_by=user,
            )
        )
        session.execute(
            insert(JobDefinition),
            [
                {
                    "id": new_id(),
                    "org_id": org,
                    "name": f"definition {index}",
                    "enabled": True,
                    "schedule": schedule,
                    "job_spec": spec,
                    "deployment_id": deployment,
                    "created_by": user,
                    "updated_by": user,
                    "next_scheduled_run_time": due,
                }
                for index in range(count)
            ],
        )
