"""Raising events (``domain/events.py``) for the notification policies that match them.

``emit(session, event)`` is called inside the transaction that records what the event tells;
it must not commit. The notification service (``notificationChannels/``,
``notificationPolicies/``) plans the deliveries of each emitted event.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from scorecast.domain.events import Event


def emit(session: Session, event: Event) -> None:
    """Raise ``event`` in ``session``'s transaction (deliveries are planned by notifications).

    Until notification channels and policies exist, no policy can match, so nothing is planned.
    """
    del session, event
