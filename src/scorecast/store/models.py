"""The store's tables (SQLAlchemy 2 declarative). Alembic migrations must equal these.

Every object that users see belongs to an organization (``org_id``) and every query made on a
caller's behalf filters on it: another organization's id is indistinguishable from an unknown one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scorecast.store.types import UTCDateTime, new_id, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_ID = String(24)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "username"),)

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str | None] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """API tokens, stored as SHA-256 hashes; the clear token is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_used: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Credential(Base):
    """A stored secret; ``secret`` is the Fernet ciphertext of a JSON object of its fields."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    credential_type: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class DataStore(Base):
    """An external database (``externalDataStores/``): its address lives in ``params``."""

    __tablename__ = "data_stores"

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    canonical_name: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetVersion(Base):
    """One uploaded file of a dataset; ``path`` is relative to the datasets folder."""

    __tablename__ = "dataset_versions"

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    format: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[dict[str, Any] | None]
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    """A registered model. ``model`` is the predictors' ModelDescription as JSON."""

    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    artifact_path: Mapped[str] = mapped_column(String(500))
    model: Mapped[dict[str, Any]]
    #: ``domain.prediction_warnings.PredictionWarningSettings`` as JSON; None until changed
    prediction_warning: Mapped[dict[str, Any] | None]
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class JobDefinition(Base):
    """A stored job spec with an optional schedule. Names are unique per organization."""

    __tablename__ = "job_definitions"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        # the scheduler's due query and the lists' order, each ending with the id they sort by
        Index("ix_job_definitions_due", "enabled", "next_scheduled_run_time", "id"),
        Index("ix_job_definitions_org_created", "org_id", "created", "id"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule: Mapped[dict[str, Any] | None]
    job_spec: Mapped[dict[str, Any]]
    #: ``domain.definition_policies`` in its wire form; None: every policy at its default
    policies: Mapped[dict[str, Any] | None]
    deployment_id: Mapped[str] = mapped_column(_ID, index=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    updated_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)
    last_scheduled_run_time: Mapped[datetime | None]
    last_started_job_status: Mapped[str | None] = mapped_column(String(20))
    last_started_job_time: Mapped[datetime | None]
    last_successful_run_time: Mapped[datetime | None]
    last_failed_run_time: Mapped[datetime | None]
    next_scheduled_run_time: Mapped[datetime | None]


class Job(Base):
    """One batch prediction run. ``spec`` is the effective camelCase job spec (no secrets).

    Claiming: a worker sets ``lease_owner``/``lease_expires`` and bumps ``attempt``; it renews
    the lease with heartbeats. A RUNNING job whose lease expired is claimable again, and the new
    attempt's staged output replaces the old one's.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_org_created", "org_id", "created", "id"),
        Index("ix_jobs_claim", "status", "queued", "lease_expires"),
        # queue positions (waiting jobs in claim order) and recent failures
        Index("ix_jobs_queue", "status", "created", "id"),
        Index("ix_jobs_org_finished", "org_id", "finished"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(_ID, index=True)
    definition_id: Mapped[str | None] = mapped_column(_ID, index=True)
    spec: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(20), default="api")
    status: Mapped[str] = mapped_column(String(20), default="INITIALIZING")
    status_details: Mapped[str] = mapped_column(Text, default="Job created")
    queued: Mapped[bool] = mapped_column(Boolean, default=False)
    abort_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    intake_ready: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduled_time: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    started: Mapped[datetime | None]
    finished: Mapped[datetime | None]
    percentage_completed: Mapped[float] = mapped_column(Float, default=0.0)
    scored_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    intake_size: Mapped[int | None] = mapped_column(BigInteger)
    output_size: Mapped[int | None] = mapped_column(BigInteger)
    rows_per_second: Mapped[float | None] = mapped_column(Float)
    eta_seconds: Mapped[float | None] = mapped_column(Float)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires: Mapped[datetime | None]
    results_deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class JobLog(Base):
    __tablename__ = "job_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    message: Mapped[str] = mapped_column(Text)


class ScheduleFire(Base):
    """One row per (definition, scheduled time): the unique key makes firing idempotent.

    ``outcome``: ``started`` (a job was created, ``job_id``), ``skipped`` (the previous run was
    still going), ``missed`` (the service was down too long); ``reason`` says why.
    """

    __tablename__ = "schedule_fires"
    __table_args__ = (UniqueConstraint("definition_id", "scheduled_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    definition_id: Mapped[str] = mapped_column(
        ForeignKey("job_definitions.id", ondelete="CASCADE"), index=True
    )
    scheduled_time: Mapped[datetime]
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(_ID)
