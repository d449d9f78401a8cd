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
    Computed,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scorecast.store.json_text import json_text
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


class ConsoleSession(Base):
    """A console sign-in (``web/session.py``): its cookie names the row, and signing out
    deletes it, so the cookie is refused from then on even where a copy of it survives."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires: Mapped[datetime] = mapped_column(index=True)


class Credential(Base):
    """A stored secret; ``secret`` is the Fernet ciphertext of a JSON object of its fields."""

    __tablename__ = "credentials"
    __table_args__ = (Index("ix_credentials_org_created", "org_id", "created", "id"),)

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
    __table_args__ = (Index("ix_data_stores_org_created", "org_id", "created", "id"),)

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    canonical_name: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class Dataset(Base):
    """An uploaded dataset (its files are its versions). ``categories``: its intended use as
    DataRobot names it, a JSON list of ``TRAINING``, ``PREDICTION`` and ``SAMPLE``
    (``["PREDICTION"]`` unless the upload or a PATCH names others; migration
    0023_dataset_categories)."""

    __tablename__ = "datasets"
    __table_args__ = (Index("ix_datasets_org_created", "org_id", "created", "id"),)

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list[str]] = mapped_column(
        JSON(), default=lambda: ["PREDICTION"], server_default='["PREDICTION"]'
    )
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)


class DatasetVersion(Base):
    """One uploaded file of a dataset; ``path`` is relative to the datasets folder."""

    __tablename__ = "dataset_versions"
    __table_args__ = (Index("ix_dataset_versions_dataset", "dataset_id", "created", "id"),)

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[dict[str, Any] | None]
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    """A registered model. ``model`` is the predictors' ModelDescription as JSON."""

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_org_created", "org_id", "created", "id"),)

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
        Index("ix_job_definitions_deployment", "deployment_id", "org_id", "created", "id"),
        # room on each page for the update every fire makes (migration 0020_fire_writes)
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule: Mapped[dict[str, Any] | None]
    job_spec: Mapped[dict[str, Any]]
    #: ``domain.definition_policies`` in its wire form; None: every policy at its default
    policies: Mapped[dict[str, Any] | None]
    deployment_id: Mapped[str] = mapped_column(_ID)
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
    #: why the definition was disabled by a policy (``autoDisableAfterFailures``); None when
    #: enabled or disabled by a user
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    #: when a user last enabled it: ``autoDisableAfterFailures`` counts the fires since then
    enabled_since: Mapped[datetime | None]
    #: when the scheduler fires ``next_scheduled_run_time``: it plus the definition's jitter
    #: offset (``domain.schedule.firing_plan.jittered``); None: no jitter, at the time itself
    next_due_at: Mapped[datetime | None]


def _adapter_type(settings: str) -> json_text:
    return json_text(literal_column("spec"), settings, "type")


class Job(Base):
    """One batch prediction run. ``spec`` is the effective camelCase job spec (no secrets).

    Claiming: a worker sets ``lease_owner``/``lease_expires`` and bumps ``attempt``; it renews
    the lease with heartbeats. A RUNNING job whose lease expired is claimable again, and the new
    attempt's staged output replaces the old one's.

    Run policies (``service.run_outcomes``, ``service.run_limits``): a failed scheduled run is
    retried as a new job of the same fire (same definition and ``scheduled_time``), numbered
    ``fire_attempt``, linked to the job it retries (``retry_of``) and not claimed before
    ``not_before``. ``abort_reason`` is set when a policy (not a user) aborts the job;
    ``slow_reported`` once the slow event was raised. Retention deletes the results
    (``results_deleted``, ``results_deleted_at``) and, a grace period later, the row.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_org_created", "org_id", "created", "id"),
        # running jobs (leases, time limits); waiting ones are read through ix_jobs_waiting
        Index("ix_jobs_claim", "status", "queued", "lease_expires"),
        # the list's filters, each in the list's order (see also JOB_INTAKE_TYPE below)
        Index("ix_jobs_org_status", "org_id", "status", "created", "id"),
        Index("ix_jobs_org_source", "org_id", "source", "created", "id"),
        Index("ix_jobs_deployment", "deployment_id", "org_id", "created", "id"),
        Index("ix_jobs_definition", "definition_id", "org_id", "created", "id"),
        # the scheduler's read of each due definition's waiting and running jobs
        Index("ix_jobs_definition_status", "definition_id", "status"),
        # ix_jobs_org_finished and ix_jobs_results_deleted_at: below
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(_ID)
    definition_id: Mapped[str | None] = mapped_column(_ID)
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
    #: attempts a clean shutdown put back (``release_job``): not dead workers' attempts; the
    #: store's default only, so inserts never name it (neither the set-based fires nor the
    #: tests that write jobs at older schema revisions)
    released_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    #: overlap policy ``queue``: not claimed while an earlier run of its definition is active
    after_previous: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires: Mapped[datetime | None]
    results_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    results_deleted_at: Mapped[datetime | None]
    fire_attempt: Mapped[int] = mapped_column(Integer, default=1)
    retry_of: Mapped[str | None] = mapped_column(_ID)
    not_before: Mapped[datetime | None]
    abort_reason: Mapped[str | None] = mapped_column(Text)
    slow_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the spec's adapter types, generated by the database (stored on PostgreSQL, where an
    #: index on the JSON expression could not be read index-only: the list's ``intakeType``
    #: filter and count read every row); migration ``0012_job_list_counts``
    intake_type: Mapped[str | None] = mapped_column(
        String(40), Computed(_adapter_type("intakeSettings"), persisted=True)
    )
    output_type: Mapped[str | None] = mapped_column(
        String(40), Computed(_adapter_type("outputSettings"), persisted=True)
    )


#: The adapter types of a job (its spec's ``intakeSettings.type``/``outputSettings.type``), as
#: the list's ``intakeType``/``outputType`` filters read them: indexed generated columns.
JOB_INTAKE_TYPE = Job.intake_type
JOB_OUTPUT_TYPE = Job.output_type
Index("ix_jobs_org_intake_type", Job.org_id, Job.intake_type, Job.created, Job.id)
Index("ix_jobs_org_output_type", Job.org_id, Job.output_type, Job.created, Job.id)

#: A job waiting in the queue (``INITIALIZING``, queued, intake ready, no abort asked), written
#: with a literal status so that queries spelling it so read the partial index of waiting jobs
#: in claim order (``queuePosition`` counts through it).
JOB_WAITING = and_(
    Job.status == literal_column("'INITIALIZING'"),
    Job.queued.is_(True),
    Job.intake_ready.is_(True),
    Job.abort_requested.is_(False),
)
Index(
    "ix_jobs_waiting",
    Job.status,
    Job.created,
    Job.id,
    sqlite_where=JOB_WAITING,
    postgresql_where=JOB_WAITING,
)
# Finished jobs (the overview's failures, retention), and jobs whose results retention deleted
# (pruned a grace period later): only those rows are in them (migration
# ``0019_jobs_partial_indexes``), so a new job, and every change of a job until it ends, writes
# two index entries fewer. Their queries compare the column (``finished >= :since``,
# ``results_deleted_at <= :cutoff``), which proves it not null on both stores, bound or not.
Index(
    "ix_jobs_org_finished",
    Job.org_id,
    Job.finished,
    sqlite_where=Job.finished.is_not(None),
    postgresql_where=Job.finished.is_not(None),
)
Index(
    "ix_jobs_results_deleted_at",
    Job.results_deleted_at,
    sqlite_where=Job.results_deleted_at.is_not(None),
    postgresql_where=Job.results_deleted_at.is_not(None),
)


class JobTally(Base):
    """Rows of +n/-n jobs whose sum is a number of jobs: each row counts the jobs of one key
    (organization, deployment, source, intake type, output type: the values of a job that never
    change), written and folded to one row per key by triggers on ``jobs`` (migrations
    ``0012_job_list_counts``, ``0013_job_tally_keys``), summed by ``store.job_tallies.job_count``
    instead of counting the jobs, for any filter on those columns."""

    __tablename__ = "job_tallies"
    __table_args__ = (
        Index(
            "ix_job_tallies_org",
            "org_id",
            "deployment_id",
            "source",
            "intake_type",
            "output_type",
            "delta",
        ),
    )

    #: every statement that changes jobs takes an id: 64 bits (SQLite's rowid is; migration
    #: ``0018_job_tally_bigint``)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[str] = mapped_column(_ID)
    deployment_id: Mapped[str] = mapped_column(_ID)
    source: Mapped[str] = mapped_column(String(20))
    intake_type: Mapped[str | None] = mapped_column(String(40))
    output_type: Mapped[str | None] = mapped_column(String(40))
    delta: Mapped[int] = mapped_column(Integer)


class DefinitionTally(Base):
    """Rows of +n/-n definitions whose sum is a number of definitions: each row counts the
    definitions of one (organization, deployment), written and folded by triggers on
    ``job_definitions`` (migration ``0017_definition_tally``), summed by
    ``store.definition_tallies.definition_count`` instead of counting the definitions."""

    __tablename__ = "definition_tallies"
    __table_args__ = (Index("ix_definition_tallies_org", "org_id", "deployment_id", "delta"),)

    #: every change takes an id: 64 bits (SQLite's rowid is)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[str] = mapped_column(_ID)
    deployment_id: Mapped[str] = mapped_column(_ID)
    delta: Mapped[int] = mapped_column(Integer)


class QueueTally(Base):
    """Rows of +n/-n jobs whose sum is the number of jobs waiting in the queue (``JOB_WAITING``),
    written and folded by triggers on ``jobs`` (migration ``0016_queue_tally``), so that a
    waiting job's position need not count every job ahead of it (``service.job_views``)."""

    __tablename__ = "queue_tallies"

    #: every change of a job's waiting takes an id: 64 bits (SQLite's rowid is)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    delta: Mapped[int] = mapped_column(Integer)


class JobLog(Base):
    """A job's log line. ``(job_id, id)`` is indexed: a job's newest lines are read by it, also
    through a generic plan on PostgreSQL (migration ``0015``)."""

    __tablename__ = "job_logs"
    __table_args__ = (Index("ix_job_logs_job_newest", "job_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    message: Mapped[str] = mapped_column(Text)


class ScheduleFire(Base):
    """One row per (definition, scheduled time): the unique key makes firing idempotent.

    ``outcome``: ``domain.schedule.outcomes.FireOutcome``; ``reason`` says why in words;
    ``lateness_seconds``: how long after it was due the job was created (runs only).
    """

    __tablename__ = "schedule_fires"
    __table_args__ = (UniqueConstraint("definition_id", "scheduled_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # read through the unique (definition_id, scheduled_time) index
    definition_id: Mapped[str] = mapped_column(ForeignKey("job_definitions.id", ondelete="CASCADE"))
    scheduled_time: Mapped[datetime]
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(_ID)
    lateness_seconds: Mapped[float | None] = mapped_column(Float)


class NotificationChannel(Base):
    """Where notifications go (``notificationChannels/``): a webhook or email addresses.

    ``secret`` is the Fernet ciphertext of ``{"secretToken": …}`` (None: deliveries unsigned).
    """

    __tablename__ = "notification_channels"
    __table_args__ = (Index("ix_notification_channels_org_created", "org_id", "created", "id"),)

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    channel_type: Mapped[str] = mapped_column(String(20))
    payload_url: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(60), default="application/json")
    #: ``[{"name": …, "value": …}]``
    custom_headers: Mapped[dict[str, Any] | None]
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    validate_ssl: Mapped[bool] = mapped_column(Boolean, default=True)
    #: ``{"addresses": [...]}`` for email channels
    email: Mapped[dict[str, Any] | None]
    language_code: Mapped[str | None] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)
    last_notification_at: Mapped[datetime | None]


class NotificationPolicy(Base):
    """Which events go to which channel (``notificationPolicies/``).

    ``period_start``: when the policy's current ``maximalFrequency`` period began (the due time
    of its last planned delivery); see ``domain.notification_rules.plan_delivery``.
    """

    __tablename__ = "notification_policies"
    __table_args__ = (Index("ix_notification_policies_org_active", "org_id", "active"),)

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[str] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str | None] = mapped_column(String(80))
    event_group: Mapped[str | None] = mapped_column(String(80))
    related_entity_type: Mapped[str | None] = mapped_column(String(40))
    related_entity_id: Mapped[str | None] = mapped_column(_ID)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    maximal_frequency: Mapped[str | None] = mapped_column(String(40))
    period_start: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationDelivery(Base):
    """One message to one channel, stored so that it survives restarts.

    ``status``: ``pending`` (due at ``next_attempt_at``), ``delivered`` or ``failed`` (given
    up). Senders claim due rows with a lease (``lease_owner``/``lease_expires``), as workers
    claim jobs. ``id`` is the message's ``webhook-id``, the same on every attempt.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
        Index("ix_notification_deliveries_channel", "channel_id", "created", "id"),
        Index("ix_notification_deliveries_policy", "policy_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    policy_id: Mapped[str | None] = mapped_column(
        ForeignKey("notification_policies.id", ondelete="SET NULL")
    )
    event_type: Mapped[str] = mapped_column(String(80))
    event_id: Mapped[str] = mapped_column(String(40))
    definition_id: Mapped[str | None] = mapped_column(_ID)
    job_id: Mapped[str | None] = mapped_column(_ID)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    first_due: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires: Mapped[datetime | None]


class NotificationAttempt(Base):
    """One try of a delivery: the answer's status code, or the error."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("notification_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(20))
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class Backfill(Base):
    """A back-run of a definition's schedule over ``[start_time, end_time)``.

    ``status``: ``running`` (times are planned or jobs wait or run), ``completed`` (none left),
    ``cancelled``. At most ``max_concurrent`` of its jobs wait or run at once; its times are
    ``backfill_fires`` rows, released (given their job) by ``service.backfills``.
    """

    __tablename__ = "backfills"
    __table_args__ = (
        Index("ix_backfills_definition_created", "definition_id", "created", "id"),
        Index("ix_backfills_status_created", "status", "created"),
    )

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    definition_id: Mapped[str] = mapped_column(ForeignKey("job_definitions.id", ondelete="CASCADE"))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    max_concurrent: Mapped[int] = mapped_column(Integer)
    rerun: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="running")
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    finished: Mapped[datetime | None]


class BackfillFire(Base):
    """One fire time of a backfill. ``state``: ``planned`` (no job yet), ``released`` (its job is
    ``job_id``), ``skipped`` (left alone, ``reason``), ``failed`` (no job could be created,
    ``reason``), ``cancelled`` (the backfill was cancelled before its release).

    ``job_status``: the final status of a released time's job, recorded once the job ended
    (``service.backfill_release.record_outcomes``), so that the outcome outlives the job's row
    (retention prunes it); null while the job waits or runs."""

    __tablename__ = "backfill_fires"
    __table_args__ = (
        UniqueConstraint("backfill_id", "scheduled_time"),
        Index("ix_backfill_fires_release", "backfill_id", "state", "scheduled_time"),
        Index("ix_backfill_fires_job_id", "job_id"),
        # the released times whose outcome is not recorded yet: the jobs in flight
        Index("ix_backfill_fires_unrecorded", "state", "job_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    backfill_id: Mapped[str] = mapped_column(ForeignKey("backfills.id", ondelete="CASCADE"))
    scheduled_time: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(_ID)
    job_status: Mapped[str | None] = mapped_column(String(20))


class SchedulerHeartbeat(Base):
    """One row per running scheduler: alive from ``since`` (its start, or its recovery from a
    store outage) until ``last_seen``. Tells a busy scheduler's late fire from a missed one."""

    __tablename__ = "scheduler_heartbeats"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    since: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)
