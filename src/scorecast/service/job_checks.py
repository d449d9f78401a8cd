"""The checks a job spec passes before a job or definition is stored, beyond its own shape.

- the deployment exists in the caller's organization (``NotFound`` naming ``deploymentId``);
- the intake and output settings pass their connector's validator (unsupported types → 422);
- every id the settings reference (credentials, data stores, datasets) exists in the
  organization (422 naming e.g. ``intakeSettings.credentialId``);
- the scoring options suit the deployment's model (``scorecast.domain.scoring_options``);
- an ``s3`` side with an ``endpointUrl`` and no credential, in an organization that may use
  the server's own cloud identity, is refused naming ``endpointUrl``: that identity's
  signature would carry the server's access key id and session token to the endpoint (the
  connector refuses it again when the job starts, ``connectors/s3.py``).

Each outside check goes through one function here, so the rest of the service never imports
the connectors or the scoring options directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.connectors.registry import (
    credential_type,
    validate_intake_settings,
    validate_output_settings,
)
from scorecast.connectors.s3 import ambient_endpoint
from scorecast.domain.adapter_settings import DatasetIntake
from scorecast.domain.job_spec import JobSpec
from scorecast.domain.model_description import ModelDescription
from scorecast.domain.scoring_options import ScoringOptions, check_against_model
from scorecast.errors import InvalidInput, ScorecastError
from scorecast.store.models import (
    Credential,
    Dataset,
    DatasetVersion,
    DataStore,
    Deployment,
    Organization,
)
from scorecast.store.org_scope import exists_in_org, in_org

#: Keys of adapter settings that name a stored credential.
CREDENTIAL_KEYS: Final = ("credentialId", "cloudStorageCredentialId")


def deployment_of(session: Session, org_id: str, deployment_id: str) -> Deployment:
    return in_org(session, Deployment, org_id, deployment_id)


def validate_adapters(spec: JobSpec, app: Settings | None = None) -> None:
    """``intakeSettings`` and ``outputSettings`` checked by their connectors (what needs the
    server's configuration: URL and path safety, file roots); errors nested under each key."""
    validate_intake_settings(spec.intake.to_wire(), app_settings=app)
    validate_output_settings(spec.output.to_wire(), app_settings=app)


def check_references(session: Session, org_id: str, spec: JobSpec | Mapping[str, Any]) -> None:
    """Every credential, data store and dataset id in the adapter settings exists in the org.

    ``spec`` parsed, or a stored spec's wire form (the scheduler checks those before a fire)."""
    wire = spec.to_wire() if isinstance(spec, JobSpec) else spec
    errors: dict[str, Any] = {}
    for side in ("intakeSettings", "outputSettings"):
        settings = wire.get(side) or {}
        problems = {}
        for key in CREDENTIAL_KEYS:
            if settings.get(key) is not None:
                wanted = (
                    credential_type(str(settings.get("type"))) if key == "credentialId" else None
                )
                problem = _credential_problem(session, org_id, settings[key], wanted)
                if problem is not None:
                    problems[key] = problem
        store_id = settings.get("dataStoreId")
        if store_id is not None and not exists_in_org(session, DataStore, org_id, store_id):
            problems["dataStoreId"] = f"no data store with id {store_id!r} in this organization"
        dataset_id = settings.get("datasetId")
        if dataset_id is not None:
            if not exists_in_org(session, Dataset, org_id, dataset_id):
                problems["datasetId"] = f"no dataset with id {dataset_id!r} in this organization"
            elif settings.get("datasetVersionId") is not None:
                version = session.get(DatasetVersion, settings["datasetVersionId"])
                if version is None or version.dataset_id != dataset_id:
                    problems["datasetVersionId"] = (
                        f"dataset {dataset_id!r} has no version {settings['datasetVersionId']!r}"
                    )
        if problems:
            errors[side] = problems
    if errors:
        raise InvalidInput(_summary(errors), errors)


def check_ambient_endpoints(
    session: Session, org_id: str, spec: JobSpec, app: Settings | None = None
) -> None:
    """Refuse an ``s3`` side that would send the server's own cloud identity to a custom
    ``endpointUrl`` (see the module docstring). A spec without an ``s3`` endpoint (nearly
    every submission) costs no read of the organization or the settings."""
    sides = {
        side: settings
        for side, settings in (
            ("intakeSettings", spec.intake.to_wire()),
            ("outputSettings", spec.output.to_wire()),
        )
        if settings.get("type") == "s3" and settings.get("endpointUrl")
    }
    if not sides:
        return
    app = app or Settings.from_env()
    organization = session.get(Organization, org_id)
    if not app.may_use_ambient_identity(organization.name if organization else None):
        return
    errors: dict[str, Any] = {}
    for side, settings in sides.items():
        if ambient_endpoint(settings["endpointUrl"], app):
            continue
        credential_id = settings.get("credentialId")
        if credential_id is None or not _has_keys(session, org_id, str(credential_id), app):
            errors[side] = {
                "endpointUrl": "needs a credential with keys: the server's own AWS identity is "
                "used only with AWS's own endpoints (https, under amazonaws.com) and those in "
                "SCORECAST_AMBIENT_CLOUD_ENDPOINTS"
            }
    if errors:
        raise InvalidInput(_summary(errors), errors)


def _has_keys(session: Session, org_id: str, credential_id: str, app: Settings) -> bool:
    """Whether the organization's credential holds an access key (one without keys stands for
    the server's own identity); a missing one is ``check_references``' to report."""
    from scorecast.service.credentials import reveal

    try:
        return bool(reveal(session, org_id, credential_id, app).get("awsAccessKeyId"))
    except ScorecastError:
        return True


def _credential_problem(
    session: Session, org_id: str, credential_id: object, wanted: str | None
) -> str | None:
    """What is wrong with a credential the settings name: none in the organization, or not of
    the type ``wanted`` by its connector (a ``basic`` one on an ``s3`` intake failed only when
    the job ran)."""
    kind = session.scalar(
        select(Credential.credential_type).where(
            Credential.org_id == org_id, Credential.id == str(credential_id)
        )
    )
    if kind is None:
        return f"no credential with id {credential_id!r} in this organization"
    if wanted is not None and kind != wanted:
        return f"credential {credential_id!r} is of type {kind!r}; this connector needs {wanted!r}"
    return None


def check_scoring_options(
    spec: JobSpec, deployment: Deployment, header: list[str] | None = None
) -> None:
    """The deployment's model can honour the spec's scoring options; with ``header`` (the
    input's columns, when known at submit) no feature column is missing."""
    options = ScoringOptions.of(spec)
    check_against_model(options, ModelDescription.from_dict(deployment.model), header)


def known_header(session: Session, org_id: str, spec: JobSpec) -> list[str] | None:
    """The input's column names when they are known at submit, else None.

    Known for a ``dataset`` intake: the columns stored with the dataset version the job will
    read (the newest when no version is given). A CSV dataset's names were read with the
    default dialect, so they count only when the job reads it with ``,`` and ``"``.
    """
    intake = spec.intake
    if not isinstance(intake, DatasetIntake):
        return None
    query = (
        select(DatasetVersion)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(Dataset.id == intake.dataset_id, Dataset.org_id == org_id)
    )
    if intake.dataset_version_id:
        query = query.where(DatasetVersion.id == intake.dataset_version_id)
    version = session.scalars(query.order_by(DatasetVersion.created.desc()).limit(1)).first()
    if version is None or not version.columns:
        return None
    if version.format == "csv":
        csv = spec.csv
        if (csv.delimiter, csv.quotechar) != (",", '"'):
            return None
    names = version.columns.get("names")
    return [str(name) for name in names] if isinstance(names, list) and names else None


def _summary(errors: Mapping[str, Mapping[str, str]]) -> str:
    return "; ".join(
        f"{side}.{key}: {problem}"
        for side, problems in errors.items()
        for key, problem in problems.items()
    )
