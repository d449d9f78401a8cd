"""Notification deliveries: planned in the transaction that raises an event, sent later.

- ``plan_event`` (called by ``service.events.emit``) finds the organization's active policies
  that match the event and adds one delivery per policy, with a snapshot of the payload
  (``domain.notification_payload``), in the caller's transaction: a delivery exists if and only
  if what it tells was committed. A policy's ``maximalFrequency`` folds events into the one
  delivery waiting for the end of its period (``domain.notification_rules.plan_delivery``).
- ``claim_due`` hands due deliveries to a sender with a lease (PostgreSQL: ``FOR UPDATE SKIP
  LOCKED``; SQLite: the caller's write lock), so several servers may send; a sender that dies
  loses its lease and another sends again (receivers deduplicate on ``webhook-id``).
- ``record_attempt`` stores the attempt and decides: delivered, retried later with exponential
  backoff (``domain.delivery_retry``, which also honours the receiver's ``Retry-After``), or
  failed for good.

Functions flush, never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from scorecast.config import Settings
from scorecast.domain.delivery_retry import AttemptResult, RetryPolicy
from scorecast.domain.events import Event
from scorecast.domain.notification_payload import TEST_EVENT, JobFacts, build_payload
from scorecast.domain.notification_rules import (
    events_of,
    parse_duration,
    plan_delivery,
    policy_matches,
)
from scorecast.errors import InvalidInput, ScorecastError
from scorecast.service.caller import Caller
from scorecast.service.notification_channels import (
    custom_headers,
    email_addresses,
    secret_token,
)
from scorecast.store.models import (
    Job,
    JobDefinition,
    NotificationAttempt,
    NotificationChannel,
    NotificationDelivery,
    NotificationPolicy,
)
from scorecast.store.org_scope import in_org, org_page
from scorecast.store.types import utcnow

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)


def new_message_id() -> str:
    """A delivery's ``webhook-id``: ``msg_`` and 32 random hex digits."""
    return "msg_" + secrets.token_hex(16)


def plan_event(session: Session, event: Event, *, now: datetime | None = None) -> int:
    """Plan the deliveries of ``event`` (see the module docstring); how many were added."""
    now = now or utcnow()
    policies = _matching_policies(session, event)
    if not policies:
        return 0
    event_id = "evt_" + secrets.token_hex(16)
    payload = _payload(session, event, event_id, now)
    added = 0
    for policy in policies:
        added += _plan_for_policy(session, policy, event, event_id, payload=payload, now=now)
    session.flush()
    return added


def _matching_policies(session: Session, event: Event) -> list[NotificationPolicy]:
    candidates = session.scalars(
        select(NotificationPolicy)
        .where(NotificationPolicy.org_id == event.org_id, NotificationPolicy.active.is_(True))
        .order_by(NotificationPolicy.id)  # one order, so that row locks never deadlock
    ).all()
    return [policy for policy in candidates if _matches(policy, event)]


def _matches(policy: NotificationPolicy, event: Event) -> bool:
    try:
        events = events_of(policy.event_type, policy.event_group)
    except (KeyError, ValueError):  # an event name this version no longer knows
        return False
    return policy_matches(
        event.type,
        event.definition_id,
        policy_events=events,
        watched_definition=policy.related_entity_id,
    )


def _plan_for_policy(
    session: Session,
    policy: NotificationPolicy,
    event: Event,
    event_id: str,
    *,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    period = parse_duration(policy.maximal_frequency) if policy.maximal_frequency else None
    waiting = None
    if period is not None:
        if _postgres(session):  # one planner per policy at a time: its period is shared
            session.refresh(policy, with_for_update=True)
        waiting = _waiting_delivery(session, policy.id, now)
    plan = plan_delivery(period, policy.period_start, now, has_waiting=waiting is not None)
    if plan.fold and waiting is not None:
        folded = int(waiting.payload.get("foldedEvents", 0)) + 1
        waiting.payload = {**payload, "foldedEvents": folded}
        waiting.event_type, waiting.event_id = event.type.value, event_id
        waiting.definition_id, waiting.job_id = event.definition_id, event.job_id
        return 0
    if period is not None:
        policy.period_start = plan.period_start
    session.add(
        NotificationDelivery(
            id=new_message_id(),
            org_id=event.org_id,
            channel_id=policy.channel_id,
            policy_id=policy.id,
            event_type=event.type.value,
            event_id=event_id,
            definition_id=event.definition_id,
            job_id=event.job_id,
            payload=payload,
            status=PENDING,
            attempt_count=0,
            created=now,
            first_due=plan.due,
            next_attempt_at=plan.due,
        )
    )
    return 1


def _waiting_delivery(
    session: Session, policy_id: str, now: datetime
) -> NotificationDelivery | None:
    query = (
        select(NotificationDelivery)
        .where(
            NotificationDelivery.policy_id == policy_id,
            NotificationDelivery.status == PENDING,
            NotificationDelivery.attempt_count == 0,
            or_(
                NotificationDelivery.lease_expires.is_(None),
                NotificationDelivery.lease_expires < now,
            ),
        )
        .order_by(NotificationDelivery.next_attempt_at.desc())
        .limit(1)
    )
    if _postgres(session):
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).one_or_none()


def _payload(session: Session, event: Event, event_id: str, now: datetime) -> dict[str, Any]:
    definition = None
    if event.definition_id is not None:
        found = session.get(JobDefinition, event.definition_id)
        if found is not None and found.org_id == event.org_id:
            definition = (found.id, found.name)
    job = None
    if event.job_id is not None:
        row = session.get(Job, event.job_id)
        if row is not None and row.org_id == event.org_id:
            job = JobFacts(
                id=row.id,
                status=row.status,
                status_details=row.status_details,
                scored_rows=row.scored_rows,
                failed_rows=row.failed_rows,
                started=row.started,
                finished=row.finished,
            )
    return build_payload(
        event=event.type.value,
        event_id=event_id,
        now=now,
        definition=definition,
        job=job,
        scheduled_time=event.scheduled_time,
        reason=event.reason,
        public_url=None,
    )


def create_test_delivery(session: Session, caller: Caller, channel_id: str) -> NotificationDelivery:
    """A delivery of the test event to the channel, due now."""
    channel = in_org(session, NotificationChannel, caller.org_id, channel_id)
    now = utcnow()
    event_id = "evt_" + secrets.token_hex(16)
    payload = build_payload(
        event=TEST_EVENT,
        event_id=event_id,
        now=now,
        definition=None,
        job=None,
        scheduled_time=None,
        reason=f"a test delivery requested by {caller.username}",
        public_url=None,
    )
    delivery = NotificationDelivery(
        id=new_message_id(),
        org_id=caller.org_id,
        channel_id=channel.id,
        policy_id=None,
        event_type=TEST_EVENT,
        event_id=event_id,
        payload=payload,
        status=PENDING,
        attempt_count=0,
        created=now,
        first_due=now,
        next_attempt_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def list_deliveries(
    session: Session,
    caller: Caller,
    channel_id: str,
    *,
    offset: int,
    limit: int,
    status: str | None = None,
) -> tuple[Sequence[NotificationDelivery], int, dict[str, list[NotificationAttempt]]]:
    """A page of a channel's deliveries (newest first), the total, and each one's attempts."""
    channel = in_org(session, NotificationChannel, caller.org_id, channel_id)
    where = [NotificationDelivery.channel_id == channel.id]
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput.at("status", f"must be one of {', '.join(STATUSES)}")
        where.append(NotificationDelivery.status == status)
    page, total = org_page(
        session, NotificationDelivery, caller.org_id, *where, offset=offset, limit=limit
    )
    attempts: dict[str, list[NotificationAttempt]] = {row.id: [] for row in page}
    if page:
        rows = session.scalars(
            select(NotificationAttempt)
            .where(NotificationAttempt.delivery_id.in_(list(attempts)))
            .order_by(NotificationAttempt.id)
        )
        for attempt in rows:
            attempts[attempt.delivery_id].append(attempt)
    return page, total or 0, attempts


# --- the sender's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryTask:
    """What a sender needs to make one attempt (the secret in clear: keep it in memory)."""

    delivery_id: str
    attempt: int
    owner: str
    channel_type: str
    payload: dict[str, Any]
    payload_url: str | None
    headers: tuple[tuple[str, str], ...]
    secret: str | None
    validate_ssl: bool
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt came to; ``error`` never holds a secret. ``retry_after``: the
    seconds the receiver asked to wait before the next attempt (its ``Retry-After``)."""

    result: AttemptResult
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None
    retry_after: float | None = None


def claim_due(
    session: Session,
    settings: Settings,
    owner: str,
    now: datetime,
    *,
    lease_seconds: float,
    limit: int = 20,
) -> list[DeliveryTask]:
    """Lease up to ``limit`` due deliveries to ``owner`` (see the module docstring)."""
    query = (
        select(NotificationDelivery)
        .where(
            NotificationDelivery.status == PENDING,
            NotificationDelivery.next_attempt_at <= now,
            or_(
                NotificationDelivery.lease_expires.is_(None),
                NotificationDelivery.lease_expires < now,
            ),
        )
        .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
        .limit(limit)
    )
    if _postgres(session):
        query = query.with_for_update(skip_locked=True)
    tasks = []
    for delivery in session.scalars(query).all():
        channel = session.get(NotificationChannel, delivery.channel_id)
        if channel is None:
            continue
        delivery.attempt_count += 1
        try:
            task = _task(delivery, channel, settings, owner)
        except ScorecastError as exc:  # e.g. the secret key changed: this one cannot be sent
            _give_up(session, delivery, exc.message, now)
            continue
        delivery.lease_owner = owner
        delivery.lease_expires = now + timedelta(seconds=lease_seconds)
        tasks.append(task)
    session.flush()
    return tasks


def _give_up(session: Session, delivery: NotificationDelivery, error: str, now: datetime) -> None:
    session.add(
        NotificationAttempt(
            delivery_id=delivery.id,
            attempted_at=now,
            error=error,
            result=AttemptResult.REJECTED.value,
        )
    )
    delivery.status, delivery.next_attempt_at = FAILED, None


def has_due(session: Session, now: datetime) -> bool:
    """A cheap check: is any delivery due?"""
    found = session.scalar(
        select(NotificationDelivery.id)
        .where(NotificationDelivery.status == PENDING, NotificationDelivery.next_attempt_at <= now)
        .limit(1)
    )
    return found is not None


def _task(
    delivery: NotificationDelivery, channel: NotificationChannel, settings: Settings, owner: str
) -> DeliveryTask:
    return DeliveryTask(
        delivery_id=delivery.id,
        attempt=delivery.attempt_count,
        owner=owner,
        channel_type=channel.channel_type,
        payload=dict(delivery.payload),
        payload_url=channel.payload_url,
        headers=tuple(custom_headers(channel, settings)),
        secret=secret_token(channel, settings),
        validate_ssl=channel.validate_ssl,
        addresses=tuple(email_addresses(channel)),
    )


def record_attempt(
    session: Session,
    task: DeliveryTask,
    outcome: AttemptOutcome,
    now: datetime,
    retry: RetryPolicy,
) -> str | None:
    """Store ``outcome`` and the delivery's next state; the new status, or None when the
    sender no longer holds the delivery (its lease ran out and another took it, or it was
    deleted with its channel)."""
    delivery = session.scalar(
        select(NotificationDelivery).where(
            NotificationDelivery.id == task.delivery_id,
            NotificationDelivery.lease_owner == task.owner,
            NotificationDelivery.attempt_count == task.attempt,
        )
    )
    if delivery is None:
        return None
    session.add(
        NotificationAttempt(
            delivery_id=delivery.id,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            result=outcome.result.value,
            duration_ms=outcome.duration_ms,
        )
    )
    delivery.lease_owner = None
    delivery.lease_expires = None
    if outcome.result is AttemptResult.DELIVERED:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DELIVERED, now, None
        session.execute(
            update(NotificationChannel)
            .where(NotificationChannel.id == delivery.channel_id)
            .values(last_notification_at=now)
        )
    elif outcome.result is AttemptResult.RETRYABLE:
        next_at = retry.next_attempt(
            delivery.first_due, delivery.attempt_count, now, retry_after=outcome.retry_after
        )
        delivery.status = PENDING if next_at is not None else FAILED
        delivery.next_attempt_at = next_at
    else:
        delivery.status, delivery.next_attempt_at = FAILED, None
    session.flush()
    return delivery.status


def prune(session: Session, before: datetime) -> int:
    """Remove delivered and failed deliveries created before ``before`` (with their
    attempts); how many."""
    result = session.execute(
        delete(NotificationDelivery)
        .where(
            NotificationDelivery.status.in_((DELIVERED, FAILED)),
            NotificationDelivery.created < before,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
