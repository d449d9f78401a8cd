"""An invalid job spec fails with the same field error wherever it is parsed: a job submitted
(``validate_job_spec``, behind ``POST batchPredictions/``), a definition created and updated,
and a stored job read by the worker's ledger (``StoreLedger.plan``) — all parse it with
``JobSpec.from_wire``, once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rows import add_deployment, org_and_user
from sqlalchemy import Engine

from hypothesis_profiles import examples
from job_spec_cases import INVALID_CHANGES, valid_specs
from scorecast.config import Settings, origin
from scorecast.domain.job_claim import Claim
from scorecast.errors import InvalidInput, UnsupportedFeature
from scorecast.runtime.store_ledger import StoreLedger
from scorecast.service import definitions, jobs
from scorecast.service.caller import Caller
from scorecast.store.db import session_scope
from scorecast.store.models import Job, JobDefinition
from scorecast.store.types import utcnow

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def _errors(action: Any) -> dict[str, Any]:
    with pytest.raises(InvalidInput) as caught:
        action()
    assert not isinstance(caught.value, UnsupportedFeature)
    return caught.value.errors


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(valid_specs(), st.sampled_from(INVALID_CHANGES))
def test_the_same_field_error_at_submit_definitions_and_the_worker(
    engine: Engine,
    settings: Settings,
    case: tuple[dict[str, Any], dict[str, Any]],
    bad: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    org_id, user_id = org_and_user(engine, name=f"org-{utcnow().timestamp()}")
    deployment_id = add_deployment(engine, org_id, user_id)
    caller = Caller(org_id, user_id, "admin")
    base = {**case[1], "deploymentId": deployment_id}
    change, expected = bad
    spec = {**base, **change}
    if "passthroughColumns" in change:
        spec.pop("passthroughColumnsSet", None)

    with session_scope(engine) as session:
        assert _errors(lambda: jobs.validate_job_spec(session, caller, spec)) == expected
    with session_scope(engine) as session:
        created = _errors(lambda: definitions.create_definition(session, caller, spec))
        assert created == expected
    with session_scope(engine) as session:
        definition = JobDefinition(
            org_id=org_id,
            name="stored",
            deployment_id=deployment_id,
            job_spec=base,
            created_by=user_id,
            updated_by=user_id,
        )
        session.add(definition)
        session.flush()
        definition_id = definition.id
    with session_scope(engine) as session:
        updated = _errors(
            lambda: definitions.update_definition(session, caller, definition_id, change)
        )
        assert updated == expected
    with session_scope(engine) as session:
        job = Job(
            org_id=org_id,
            deployment_id=deployment_id,
            created_by=user_id,
            created=utcnow(),
            status="RUNNING",
            queued=False,
            intake_ready=True,
            spec=spec,
        )
        session.add(job)
        session.flush()
        job_id = job.id
    ledger = StoreLedger(settings, engine, Claim(job_id, 1, "worker", retried=False))
    assert _errors(ledger.plan) == expected


@pytest.mark.parametrize(
    "credential", [None, {}, {"awsAccessKeyId": "AKIAUSER", "awsSecretAccessKey": "s"}]
)
def test_the_servers_identity_and_a_custom_endpoint_are_refused_at_submit(
    engine: Engine, settings: Settings, credential: dict[str, str] | None
) -> None:
    """An organization allowed the server's own cloud identity cannot aim it at a custom
    ``endpointUrl`` (its signature would carry the server's access key id there): without a
    credential with keys it is a 422 naming endpointUrl; with one it is accepted."""
    from dataclasses import replace

    from scorecast.service import credentials
    from scorecast.service.secrets import SecretBox

    org_id, user_id = org_and_user(engine, name=f"org-{utcnow().timestamp()}")
    deployment_id = add_deployment(engine, org_id, user_id)
    caller = Caller(org_id, user_id, "admin")
    app = replace(settings, ambient_cloud_identity_orgs=("*",), allow_private_endpoints=True)
    s3: dict[str, Any] = {
        "type": "s3",
        "url": "s3://bucket/in.csv",
        "endpointUrl": "http://127.0.0.1:9000",
    }
    if credential is not None:
        with session_scope(engine) as session:
            box = SecretBox.from_settings(app)
            body = {"name": "c", "credentialType": "s3", **credential}
            stored = credentials.create_credential(session, caller, box, body)
            s3["credentialId"] = stored.id
    spec = {
        "deploymentId": deployment_id,
        "intakeSettings": s3,
        "outputSettings": {"type": "localFile"},
    }
    with session_scope(engine) as session:
        if credential:
            jobs.validate_job_spec(session, caller, spec, app_settings=app)
            return
        errors = _errors(lambda: jobs.validate_job_spec(session, caller, spec, app_settings=app))
        assert list(errors) == ["intakeSettings"]
        assert "endpointUrl" in errors["intakeSettings"]
    with session_scope(engine) as session:  # AWS's own endpoints (FIPS, PrivateLink) are fine
        for aws in (
            "https://s3-fips.us-east-1.amazonaws.com",
            "https://bucket.vpce-0a1b2c3d-e4f5g6h7.s3.us-east-1.vpce.amazonaws.com",
        ):
            on_aws = {**spec, "intakeSettings": {**s3, "endpointUrl": aws}}
            jobs.validate_job_spec(session, caller, on_aws, app_settings=app)
        not_aws = {**s3, "endpointUrl": "http://s3-fips.us-east-1.amazonaws.com.evil.example"}
        errors = _errors(
            lambda: jobs.validate_job_spec(
                session, caller, {**spec, "intakeSettings": not_aws}, app_settings=app
            )
        )
        assert "endpointUrl" in errors["intakeSettings"]
    with session_scope(engine) as session:  # an endpoint the operator named is fine
        minio = origin("HTTP://127.0.0.1:9000/")
        assert minio is not None
        listed = replace(app, ambient_cloud_endpoints=(minio,))
        jobs.validate_job_spec(session, caller, spec, app_settings=listed)
    with session_scope(engine) as session:  # without the server's identity: anonymous, fine
        anonymous = replace(app, ambient_cloud_identity_orgs=())
        jobs.validate_job_spec(session, caller, spec, app_settings=anonymous)
