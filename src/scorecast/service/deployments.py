"""Deployments: registered model files that jobs score with.

Registering spools the uploaded artifact to a local temporary file, loads it once through
``scorecast.predictors.describe_model`` in a child process (``model_inspection``), which checks
it against the declared target, then stores it in the storage under
``home_layout.artifact_key`` (``Deployment.artifact_path`` is that key relative to
``artifacts/``) and keeps the resulting ``ModelDescription`` as ``Deployment.model``. A file
that cannot be loaded is refused with 422 and nothing is left behind. Functions flush, never
commit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.connectors.storage import BlobStore, open_storage
from scorecast.connectors.storage.cache import forget
from scorecast.domain.job_statuses import ACTIVE_STATUSES
from scorecast.domain.model_description import TARGET_TYPES, ModelDescription
from scorecast.errors import Conflict, InvalidInput, ModelLoadError, UnsupportedFeature
from scorecast.service.caller import Caller
from scorecast.service.model_inspection import describe_in_child
from scorecast.service.secrets import signing_keys
from scorecast.service.trusted_models import check_may_register
from scorecast.service.uploads import spooled_upload
from scorecast.store.models import Deployment, Job, JobDefinition
from scorecast.store.org_scope import in_org, org_page
from scorecast.store.types import new_id, utcnow

_MAX_LABEL = 200
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,12}$")


@dataclass(frozen=True)
class ModelUpload:
    """What a user declares about an uploaded model file."""

    target: str
    target_type: str
    positive_class: str | None = None
    label: str | None = None
    trust_pickle: bool = False
    prediction_range: tuple[float, float] | None = None
    #: input column names for a model that does not record them (see ``Declared``)
    feature_names: tuple[str, ...] | None = None


def register_model(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    stream: BinaryIO,
    filename: str | None,
    declared: ModelUpload,
) -> Deployment:
    """A new deployment from an uploaded model file (the file's suffix helps tell the format).

    ModelLoadError (422) when the file cannot be loaded or contradicts the declared target;
    MissingExtra when its format needs an optional package; ``trustPickle`` refused as
    ``service.trusted_models`` says, before the file is stored or read.
    """
    check_may_register(settings, caller, trust_pickle=declared.trust_pickle)
    target_type = _target_type(declared.target_type)
    if not declared.target.strip():
        raise InvalidInput.at("targetName", "is required")
    deployment_id = new_id()
    suffix = _suffix(filename)
    key = home_layout.artifact_key(deployment_id, suffix)
    store = open_storage(settings)
    with spooled_upload(settings, stream, suffix) as (artifact, size):
        if size == 0:
            raise InvalidInput.at("file", "is empty")
        description = _describe(artifact, filename, declared, target_type, signing_keys(settings))
        try:
            _store_artifact(store, key, artifact)
            deployment = Deployment(
                id=deployment_id,
                org_id=caller.org_id,
                label=_label(declared.label or Path(filename or "model").stem or "model"),
                status="active",
                artifact_path=home_layout.stored_artifact_path(key),
                model=description.to_dict(),
                created_by=caller.user_id,
                created=utcnow(),
            )
            session.add(deployment)
            session.flush()
        except BaseException:
            store.delete_prefix(home_layout.artifact_folder(deployment_id))
            raise
    return deployment


def _store_artifact(store: BlobStore, key: str, artifact: Path) -> None:
    """Store the model file, and its prepared form when loading it made one (a cache that job
    processes verify before use: ``predictors.prepared``)."""
    prepared = artifact.with_name(artifact.name + home_layout.PREPARED_SUFFIX)
    try:
        with artifact.open("rb") as source:
            store.put(key, source)
        if prepared.is_file():
            with prepared.open("rb") as source:
                store.put(key + home_layout.PREPARED_SUFFIX, source)
    finally:
        prepared.unlink(missing_ok=True)


def _describe(
    artifact: Path,
    filename: str | None,
    declared: ModelUpload,
    target_type: str,
    keys: list[bytes],
) -> ModelDescription:
    """``describe_model``; its errors name the uploaded file, never the server's paths."""
    try:
        return describe_in_child(
            artifact,
            keys,
            target=declared.target.strip(),
            target_type=target_type,
            positive_class=declared.positive_class or None,
            trust_pickle=declared.trust_pickle,
            prediction_range=declared.prediction_range,
            feature_names=list(declared.feature_names) if declared.feature_names else None,
        )
    except ModelLoadError as exc:
        shown = filename or "the uploaded file"
        message = exc.message.replace(str(artifact), shown).replace(str(artifact.parent), "")
        raise ModelLoadError(message, exc.errors or {"file": message}) from None


def get_deployment(session: Session, caller: Caller, deployment_id: str) -> Deployment:
    """One deployment of the caller's organization; NotFound otherwise."""
    return in_org(session, Deployment, caller.org_id, deployment_id)


def deployment_labelled(session: Session, caller: Caller, label: str) -> Deployment | None:
    """The caller's oldest deployment labelled exactly ``label``, if any."""
    query = select(Deployment).where(Deployment.org_id == caller.org_id, Deployment.label == label)
    return session.scalars(query.order_by(Deployment.created, Deployment.id).limit(1)).first()


def list_deployments(
    session: Session,
    caller: Caller,
    *,
    offset: int,
    limit: int,
    search: str | None = None,
    order_by: str | None = None,
) -> tuple[Sequence[Deployment], int]:
    """A page of the organization's deployments and the total count; ``search`` matches a
    part of the label, ignoring case.

    ``order_by``: one of ``ORDERINGS`` (a leading ``-`` descends); newest first when None.
    DataRobot's health and usage orders are UnsupportedFeature, anything else InvalidInput,
    both naming ``orderBy``.
    """
    wanted = []
    if search:
        wanted.append(func.lower(Deployment.label).contains(search.lower(), autoescape=True))
    ordering = None if order_by is None else _ordering(order_by)
    return org_page(
        session,
        Deployment,
        caller.org_id,
        *wanted,
        offset=offset,
        limit=limit,
        order_by=ordering,
    )


#: ``orderBy`` values of the list, each ascending and with ``-`` descending:
#: ``label`` ignoring case (ties by id); ``lastPredictionTimestamp`` by when the deployment's
#: newest batch prediction job was submitted, a deployment without jobs counting as oldest
ORDERINGS: Final = ("label", "lastPredictionTimestamp")
#: DataRobot's orders this server keeps no figures for (health, recent prediction counts)
_UNSUPPORTED_ORDERINGS = ("serviceHealth", "modelHealth", "accuracyHealth", "recentPredictions")


def _ordering(order_by: str) -> tuple[ColumnElement[Any], ...]:
    key = order_by.removeprefix("-")
    descending = key != order_by
    if key in _UNSUPPORTED_ORDERINGS:
        raise UnsupportedFeature.at(
            "orderBy",
            f"{key} is not kept by this server; order by {' or '.join(ORDERINGS)}",
        )
    if key == "label":  # sorted, not read in order: no index has the label (an org's few)
        columns = (func.lower(Deployment.label), Deployment.label, Deployment.id)
        return tuple(column.desc() if descending else column.asc() for column in columns)
    if key == "lastPredictionTimestamp":
        # one index lookup per deployment: ix_jobs_deployment (deployment_id, org_id, created)
        newest_job = (
            select(func.max(Job.created))
            .where(Job.deployment_id == Deployment.id, Job.org_id == Deployment.org_id)
            .correlate(Deployment)
            .scalar_subquery()
        )
        if descending:
            return (newest_job.desc().nulls_last(), Deployment.id.desc())
        return (newest_job.asc().nulls_first(), Deployment.id.asc())
    valid = ", ".join(f"{name}, -{name}" for name in ORDERINGS)
    raise InvalidInput.at("orderBy", f"must be one of {valid}")


def update_deployment(
    session: Session, caller: Caller, deployment_id: str, *, label: str | None
) -> Deployment:
    """Rename a deployment (``label``)."""
    deployment = get_deployment(session, caller, deployment_id)
    if label is not None:
        deployment.label = _label(label)
    session.flush()
    return deployment


def delete_deployment(
    session: Session, caller: Caller, settings: Settings, deployment_id: str
) -> None:
    """Delete a deployment and its artifact.

    Conflict (409) while a job that uses it is waiting or running, or while a job definition
    refers to it (delete or change those definitions first).
    """
    deployment = get_deployment(session, caller, deployment_id)
    active = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.deployment_id == deployment.id, Job.status.in_(ACTIVE_STATUSES))
    )
    if active:
        raise Conflict(
            f"deployment {deployment_id} is used by {active} waiting or running job(s); "
            "abort them or wait for them to finish",
            {"deploymentId": "in use by active jobs"},
        )
    names = session.scalars(
        select(JobDefinition.name).where(
            JobDefinition.deployment_id == deployment.id,
            JobDefinition.org_id == caller.org_id,
        )
    ).all()
    if names:
        raise Conflict(
            f"deployment {deployment_id} is used by job definition(s) "
            + ", ".join(repr(name) for name in names),
            {"deploymentId": "in use by job definitions"},
        )
    session.delete(deployment)
    session.flush()
    open_storage(settings).delete_prefix(home_layout.artifact_folder(deployment.id))
    forget(settings, home_layout.artifact_folder(deployment.id))


def description_of(deployment: Deployment) -> ModelDescription:
    return ModelDescription.from_dict(deployment.model)


def _target_type(value: str) -> str:
    normalized = value.strip().lower()
    if normalized not in TARGET_TYPES:
        raise InvalidInput.at("targetType", f"must be one of {', '.join(TARGET_TYPES)}")
    return normalized


def _label(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput.at("label", "must not be empty")
    if len(value) > _MAX_LABEL:
        raise InvalidInput.at("label", f"must be at most {_MAX_LABEL} characters")
    return value


def _suffix(filename: str | None) -> str:
    """The upload's suffix when it is a plain one (``.onnx``, ``.skops``); else none."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if _SUFFIX.match(suffix) else ""
