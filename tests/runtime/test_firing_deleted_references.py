"""A scheduled definition whose credential or data store was deleted: its next fire is recorded
``failed`` with a reason naming the setting and the missing id, and no job is created (the
same 422 message ``run_once`` answers, see ``tests/e2e/test_connector_job_failures.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rows import EVERY_MINUTE, add_definition, add_deployment, org_and_user
from sqlalchemy import Engine, select

from scorecast.service.caller import Caller
from scorecast.service.credentials import delete_credential
from scorecast.service.data_stores import delete_data_store
from scorecast.service.firing import fire_due_definitions
from scorecast.store.db import session_scope
from scorecast.store.models import Credential, DataStore, Job, JobDefinition, ScheduleFire

NOW = datetime(2026, 3, 2, 12, 0, 20, tzinfo=UTC)
DUE = NOW.replace(second=0)


def references(engine: Engine, org: str, user: str) -> tuple[str, str]:
    """A basic credential and a jdbc data store of ``org`` (rows written directly: the secret is
    never decrypted on this path); their ids."""
    with session_scope(engine) as session:
        credential = Credential(
            org_id=org, name="login", credential_type="basic", secret=b"unused", created_by=user
        )
        store = DataStore(
            org_id=org,
            type="jdbc",
            canonical_name="warehouse",
            params={"jdbcUrl": "jdbc:postgresql://db.example.com:5432/sales"},
            created_by=user,
        )
        session.add_all([credential, store])
        session.flush()
        return credential.id, store.id


def jdbc_spec(deployment: str, credential_id: str, store_id: str) -> dict[str, Any]:
    return {
        "deploymentId": deployment,
        "intakeSettings": {
            "type": "jdbc",
            "dataStoreId": store_id,
            "credentialId": credential_id,
            "table": "sales",
        },
        "outputSettings": {"type": "localFile"},
    }


def fire_once(engine: Engine, definition_id: str) -> tuple[ScheduleFire, list[Job], JobDefinition]:
    with session_scope(engine, immediate=True) as session:
        fire_due_definitions(session, NOW)
    with session_scope(engine) as session:
        [fire] = session.scalars(
            select(ScheduleFire).where(ScheduleFire.definition_id == definition_id)
        ).all()
        jobs = list(session.scalars(select(Job).where(Job.definition_id == definition_id)))
        definition = session.get(JobDefinition, definition_id)
        assert definition is not None
        session.expunge_all()
        return fire, jobs, definition


def scheduled(engine: Engine, deleted: str) -> tuple[str, str]:
    """A due definition reading from a jdbc data store with a credential, after ``deleted``
    ("credential" or "data store") was deleted through the service; (definition id, the
    deleted object's id)."""
    org, user = org_and_user(engine)
    caller = Caller(org_id=org, user_id=user, username="admin", is_admin=True)
    deployment = add_deployment(engine, org, user)
    credential_id, store_id = references(engine, org, user)
    definition_id = add_definition(
        engine,
        org,
        user,
        enabled=True,
        schedule=EVERY_MINUTE,
        job_spec=jdbc_spec(deployment, credential_id, store_id),
        next_scheduled_run_time=DUE,
    )
    with session_scope(engine) as session:
        if deleted == "credential":
            delete_credential(session, caller, credential_id)
            return definition_id, credential_id
        delete_data_store(session, caller, store_id)
        return definition_id, store_id


def test_a_deleted_credential_fails_the_next_fire_naming_it(engine: Engine) -> None:
    definition_id, credential_id = scheduled(engine, "credential")
    fire, jobs, definition = fire_once(engine, definition_id)
    assert fire.outcome == "failed" and jobs == []
    assert fire.reason == (
        f"intakeSettings.credentialId: no credential with id {credential_id!r} in this organization"
    )
    assert definition.last_failed_run_time == NOW
    assert definition.next_scheduled_run_time == DUE + timedelta(minutes=1)


def test_a_deleted_data_store_fails_the_next_fire_naming_it(engine: Engine) -> None:
    definition_id, store_id = scheduled(engine, "data store")
    fire, jobs, definition = fire_once(engine, definition_id)
    assert fire.outcome == "failed" and jobs == []
    assert fire.reason == (
        f"intakeSettings.dataStoreId: no data store with id {store_id!r} in this organization"
    )
    assert definition.last_failed_run_time == NOW
