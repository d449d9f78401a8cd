"""Batch prediction job definitions: a stored job spec, a name and an optional schedule.

Rules (reference §12): names are unique within an organization (a duplicate is ``Conflict``
naming the name) and generated (``adjective_animal``) when absent; ``enabled`` needs a
schedule; the schedule is validated by ``scorecast.domain.schedule``; the spec is validated
exactly like a job's; PATCH is a top-level partial merge. ``nextScheduledRunTime`` is recomputed
on every change and is null while disabled. Deleting a definition stops its future runs; a job
it already started keeps running (jobs keep the definition id, not a foreign key).

Every function works in the caller's transaction (flushes, never commits) and within the
caller's organization.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.domain.definition_names import generate_name
from scorecast.domain.definition_policies import (
    POLICY_KEYS,
    DefinitionPolicies,
    parse_policies,
    policies_from_stored,
    policies_to_wire,
)
from scorecast.domain.job_spec import merge_job_spec
from scorecast.domain.schedule import next_fire_after, parse_schedule
from scorecast.domain.schedule.firing_plan import jittered
from scorecast.errors import Conflict, InvalidInput
from scorecast.service.backfill_release import cancel_definition_backfills
from scorecast.service.caller import Caller
from scorecast.service.job_views import UserRef, user_refs
from scorecast.service.jobs import validate_job_spec
from scorecast.service.run_outcomes import cancel_waiting_retries
from scorecast.store.definition_tallies import definition_count
from scorecast.store.models import JobDefinition
from scorecast.store.org_scope import in_org, org_page
from scorecast.store.types import new_id, utcnow

#: Top-level keys of a definition body that are not job spec keys.
DEFINITION_KEYS: Final = ("name", "enabled", "schedule", *POLICY_KEYS)
MAX_NAME_LENGTH: Final = 200

_rng = random.SystemRandom()


@dataclass(frozen=True)
class DefinitionView:
    """A definition with its creator and last updater (see ``api/serializers``)."""

    definition: JobDefinition
    created_by: UserRef
    updated_by: UserRef


def create_definition(
    session: Session,
    caller: Caller,
    body: Mapping[str, Any],
    *,
    now: datetime | None = None,
    app_settings: Settings | None = None,
) -> JobDefinition:
    """Store a new definition from a POST body: ``name``?, ``enabled``, ``schedule``?, spec."""
    now = now or utcnow()
    _require_object(body)
    spec_part = {key: value for key, value in body.items() if key not in DEFINITION_KEYS}
    errors: dict[str, Any] = {}
    name = _checked_name(body.get("name"), errors) if body.get("name") is not None else None
    enabled = _checked_enabled(body.get("enabled", False), errors)
    schedule_wire = _checked_schedule(body.get("schedule"))
    if enabled and schedule_wire is None:
        errors["schedule"] = "is required when enabled is true"
    if errors:
        raise InvalidInput(_summary(errors), errors)
    policies = parse_policies(body)
    spec = validate_job_spec(session, caller, spec_part, app_settings=app_settings)
    if name is None:
        name = generate_name(_rng, lambda candidate: _name_taken(session, caller.org_id, candidate))
    elif _name_taken(session, caller.org_id, name):
        raise _duplicate(name)
    definition_id = new_id()
    next_time = _next_run(bool(enabled), schedule_wire, now)
    definition = JobDefinition(
        id=definition_id,
        org_id=caller.org_id,
        name=name,
        enabled=bool(enabled),
        schedule=schedule_wire,
        job_spec=spec.to_wire(),
        policies=policies_to_wire(policies),
        deployment_id=spec.deployment_id,
        created_by=caller.user_id,
        updated_by=caller.user_id,
        created=now,
        updated=now,
        next_scheduled_run_time=next_time,
        next_due_at=jittered(definition_id, next_time, policies.jitter_seconds),
    )
    session.add(definition)
    _flush_unique(session, name)
    return definition


def get_definition(session: Session, caller: Caller, definition_id: str) -> JobDefinition:
    """The caller's definition, or ``NotFound`` (also for another organization's id)."""
    return in_org(session, JobDefinition, caller.org_id, definition_id)


def list_definitions(
    session: Session,
    caller: Caller,
    *,
    search_name: str | None = None,
    deployment_id: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[list[JobDefinition], int]:
    """One page of the caller's definitions (newest first) and the total count of matches.

    ``search_name`` matches a case-insensitive substring of the name.
    """
    wanted: list[ColumnElement[bool]] = []
    if search_name:
        wanted.append(func.lower(JobDefinition.name).contains(search_name.lower(), autoescape=True))
    if deployment_id:
        wanted.append(JobDefinition.deployment_id == deployment_id)
    tallied = None  # a name search is counted; the rest is a sum of the definitions' tally
    if not search_name:
        tallied = functools.partial(definition_count, session, caller.org_id, deployment_id or None)
    return org_page(
        session,
        JobDefinition,
        caller.org_id,
        *wanted,
        offset=offset,
        limit=limit,
        counted_by=tallied,
    )


def update_definition(
    session: Session,
    caller: Caller,
    definition_id: str,
    body: Mapping[str, Any],
    *,
    now: datetime | None = None,
    app_settings: Settings | None = None,
) -> JobDefinition:
    """Apply a PATCH body: keys present replace the stored ones (adapter settings whole).

    A ``schedule`` of null removes the schedule; ``name``/``enabled`` of null leave them as
    they are. The merged spec is revalidated whenever a spec key is present.
    """
    now = now or utcnow()
    _require_object(body)
    definition = get_definition(session, caller, definition_id)
    errors: dict[str, Any] = {}
    name = definition.name
    if body.get("name") is not None:
        name = _checked_name(body["name"], errors)
    enabled = definition.enabled
    if body.get("enabled") is not None:
        enabled = bool(_checked_enabled(body["enabled"], errors))
    schedule_wire = definition.schedule
    if "schedule" in body:
        schedule_wire = _checked_schedule(body["schedule"])
    if enabled and schedule_wire is None:
        errors["schedule"] = "is required when enabled is true"
    if errors:
        raise InvalidInput(_summary(errors), errors)
    policies = parse_policies(body, definition_policies(definition))
    spec_changes = {key: value for key, value in body.items() if key not in DEFINITION_KEYS}
    if spec_changes:
        merged = merge_job_spec(definition.job_spec, spec_changes)
        spec = validate_job_spec(session, caller, merged, app_settings=app_settings)
        definition.job_spec = spec.to_wire()
        definition.deployment_id = spec.deployment_id
    if name != definition.name and _name_taken(session, caller.org_id, name):
        raise _duplicate(name)
    if enabled and not definition.enabled:  # a fresh start for autoDisableAfterFailures
        definition.disabled_reason = None
        definition.enabled_since = now
    if definition.enabled and not enabled:
        cancel_waiting_retries(
            session, definition, now, f"the definition was disabled by {caller.username}"
        )
    definition.name = name
    definition.enabled = enabled
    definition.schedule = schedule_wire
    definition.policies = policies_to_wire(policies)
    definition.updated = now
    definition.updated_by = caller.user_id
    definition.next_scheduled_run_time = _next_run(enabled, schedule_wire, now)
    definition.next_due_at = jittered(
        definition.id, definition.next_scheduled_run_time, policies.jitter_seconds
    )
    _flush_unique(session, name)
    return definition


def delete_definition(session: Session, caller: Caller, definition_id: str) -> None:
    """Delete the caller's definition; its future runs stop (a retry waiting for its time or a
    worker ends ``ABORTED``; its running backfills are cancelled, their waiting jobs
    ``ABORTED``), a running job finishes."""
    definition = get_definition(session, caller, definition_id)
    now = utcnow()
    reason = f"the definition was deleted by {caller.username}"
    cancel_waiting_retries(session, definition, now, reason)
    cancel_definition_backfills(session, caller, definition.id, now, reason)
    session.delete(definition)
    session.flush()


def definition_views(
    session: Session, definitions: Sequence[JobDefinition], *, caller: Caller | None = None
) -> list[DefinitionView]:
    """What the JSON of each definition needs; ``caller``: the user asking (``user_refs``)."""
    ids = {d.created_by for d in definitions} | {d.updated_by for d in definitions}
    users = user_refs(session, ids, caller=caller)

    def ref(user_id: str) -> UserRef:
        return users.get(user_id, UserRef(user_id, "unknown", None))

    return [DefinitionView(d, ref(d.created_by), ref(d.updated_by)) for d in definitions]


def definition_policies(definition: JobDefinition) -> DefinitionPolicies:
    """The definition's policies (stored in their validated wire form)."""
    return policies_from_stored(definition.policies)


def next_run_time(definition: JobDefinition, now: datetime) -> datetime | None:
    """When an enabled definition fires next after ``now``; None when disabled or never."""
    return _next_run(definition.enabled, definition.schedule, now)


def _next_run(
    enabled: bool, schedule_wire: Mapping[str, Any] | None, now: datetime
) -> datetime | None:
    if not enabled or schedule_wire is None:
        return None
    return next_fire_after(parse_schedule(schedule_wire), now)


def _require_object(body: object) -> None:
    if not isinstance(body, Mapping):
        raise InvalidInput("the request body must be a JSON object", {"body": "must be an object"})


def _checked_name(value: object, errors: dict[str, Any]) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["name"] = "must be a non-empty string"
        return ""
    if len(value) > MAX_NAME_LENGTH:
        errors["name"] = f"must be at most {MAX_NAME_LENGTH} characters"
    return value


def _checked_enabled(value: object, errors: dict[str, Any]) -> bool:
    if not isinstance(value, bool):
        errors["enabled"] = "must be true or false"
        return False
    return value


def _checked_schedule(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInput.at(
            "schedule", "must be an object with minute, hour, dayOfMonth, month, dayOfWeek"
        )
    return parse_schedule(value).to_wire()


def definition_named(session: Session, caller: Caller, name: str) -> JobDefinition | None:
    """The caller's definition named ``name`` (names are unique in an organization), if any."""
    query = select(JobDefinition).where(
        JobDefinition.org_id == caller.org_id, JobDefinition.name == name
    )
    return session.scalar(query)


def _name_taken(session: Session, org_id: str, name: str) -> bool:
    found = session.scalar(
        select(JobDefinition.id).where(JobDefinition.org_id == org_id, JobDefinition.name == name)
    )
    return found is not None


def _duplicate(name: str) -> Conflict:
    return Conflict(
        f"A job definition named {name!r} already exists",
        {"name": f"{name!r} is already used by another job definition in this organization"},
    )


def _flush_unique(session: Session, name: str) -> None:
    """Flush; a concurrent insert of the same name surfaces as ``Conflict``, not a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise _duplicate(name) from exc


def _summary(errors: Mapping[str, Any]) -> str:
    return "; ".join(f"{key}: {problem}" for key, problem in errors.items())
