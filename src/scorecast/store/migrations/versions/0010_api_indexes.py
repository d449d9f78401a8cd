"""Indexes for every list order and filter of the API: jobs by (org, status|source), by
deployment and by definition, and by their intake and output types (expressions on the spec),
each ending with the list's order (created, id); definitions by deployment; credentials, data
stores, datasets and deployments by (org, created, id); dataset versions by (dataset, created,
id); waiting jobs in claim order (a partial index: queue positions count through it).
Single-column indexes that the new ones start with are dropped.

Revision ID: 0010_api_indexes
Revises: 0008_notifications
Create Date: 2026-12-06 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_api_indexes"
down_revision: str | None = "0008_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ORDER = ["created", "id"]
_COLUMN_INDEXES = [
    ("ix_jobs_org_status", "jobs", ["org_id", "status", *_ORDER]),
    ("ix_jobs_org_source", "jobs", ["org_id", "source", *_ORDER]),
    ("ix_jobs_deployment", "jobs", ["deployment_id", "org_id", *_ORDER]),
    ("ix_jobs_definition", "jobs", ["definition_id", "org_id", *_ORDER]),
    ("ix_job_definitions_deployment", "job_definitions", ["deployment_id", "org_id", *_ORDER]),
    ("ix_credentials_org_created", "credentials", ["org_id", *_ORDER]),
    ("ix_data_stores_org_created", "data_stores", ["org_id", *_ORDER]),
    ("ix_datasets_org_created", "datasets", ["org_id", *_ORDER]),
    ("ix_deployments_org_created", "deployments", ["org_id", *_ORDER]),
    ("ix_dataset_versions_dataset", "dataset_versions", ["dataset_id", *_ORDER]),
]
#: (index, table, column) of the single-column indexes the new ones replace
_REPLACED = [
    ("ix_jobs_deployment_id", "jobs", "deployment_id"),
    ("ix_jobs_definition_id", "jobs", "definition_id"),
    ("ix_job_definitions_deployment_id", "job_definitions", "deployment_id"),
    ("ix_dataset_versions_dataset_id", "dataset_versions", "dataset_id"),
]
_TYPE_INDEXES = [
    ("ix_jobs_org_intake_type", "intakeSettings"),
    ("ix_jobs_org_output_type", "outputSettings"),
]


def _adapter_type(settings: str) -> sa.TextClause:
    # the same text as store/json_text.py renders, so that the lists' filters use the index
    if op.get_bind().dialect.name == "sqlite":
        return sa.text(f"json_extract(spec, '$.{settings}.type')")
    return sa.text(f"(spec #>> '{{{settings},type}}')")


def _waiting() -> sa.TextClause:
    # store/models.py JOB_WAITING as each dialect renders it
    true, false = ("1", "0") if op.get_bind().dialect.name == "sqlite" else ("true", "false")
    return sa.text(
        f"status = 'INITIALIZING' AND queued IS {true} AND intake_ready IS {true} "
        f"AND abort_requested IS {false}"
    )


def upgrade() -> None:
    op.create_index(
        "ix_jobs_waiting",
        "jobs",
        ["status", "created", "id"],
        sqlite_where=_waiting(),
        postgresql_where=_waiting(),
    )
    for name, table, columns in _COLUMN_INDEXES:
        op.create_index(name, table, columns)
    for name, settings in _TYPE_INDEXES:
        op.create_index(
            name, "jobs", [sa.text("org_id"), _adapter_type(settings), *map(sa.text, _ORDER)]
        )
    for name, table, _column in _REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    op.drop_index("ix_jobs_waiting", table_name="jobs")
    for name, table, column in _REPLACED:
        op.create_index(name, table, [column])
    for name, _settings in _TYPE_INDEXES:
        op.drop_index(name, table_name="jobs")
    for name, table, _columns in reversed(_COLUMN_INDEXES):
        op.drop_index(name, table_name=table)
