"""For the scheduler's tests and bench: definitions due on one moment, written directly in bulk.

The rows are what the API would store for a daily definition with a ``localFile`` intake (its
jobs wait for an upload, so no worker runs them), written with bulk inserts so that 100,000 take
seconds, not the minutes of as many API calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert

from scorecast.store.db import session_scope
from scorecast.store.models import Deployment, JobDefinition, Organization, User
from scorecast.store.types import new_id

#: Definitions per insert statement.
_CHUNK = 10_000


def add_due_definitions(
    engine: Engine, count: int, due: datetime, owner: tuple[str, str] | None = None
) -> str:
    """``count`` enabled definitions firing daily at ``due``'s hour and minute, next at ``due``,
    in a new organization or ``owner``'s ((org id, user id)); their deployment's id."""
    org, user = owner or (new_id(), new_id())
    deployment = new_id()
    schedule: dict[str, list[Any]] = {"minute": [due.minute], "hour": [due.hour]}
    schedule |= {"dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}
    spec = {
        "deploymentId": deployment,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
    }
    with session_scope(engine) as session:
        if owner is None:
            session.execute(insert(Organization).values(id=org, name=f"due {org}"))
            session.execute(insert(User).values(id=user, org_id=org, username=f"admin@{org}"))
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
        for start in range(0, count, _CHUNK):
            rows = [
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
                for index in range(start, min(start + _CHUNK, count))
            ]
            session.execute(insert(JobDefinition), rows)
    return deployment
