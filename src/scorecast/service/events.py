"""Raising events (``domain/events.py``) for the notification policies that match them.

``emit(session, event)`` is called inside the transaction that records what the event tells;
it must not commit. It adds one delivery per matching active notification policy, with a
snapshot of the payload (``service.notification_deliveries.plan_event``); the runtime's
notification sender delivers them after the commit, and nothing is delivered if the
transaction rolls back.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from scorecast.domain.events import Event
from scorecast.service.notification_deliveries import plan_event


def emit(session: Session, event: Event) -> None:
    """Raise ``event`` in ``session``'s transaction: plan its notification deliveries."""
    plan_event(session, event)
