"""The number of an organization's definitions without counting them: the sum of
``definition_tallies`` rows, which triggers on ``job_definitions`` keep exact in every
transaction and fold now and then (migration ``0017_definition_tally``), so a sum reads a few
rows however many definitions there are. Each row counts the definitions of one (organization,
deployment), so the list filtered by deployment is a sum too.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from scorecast.store.models import DefinitionTally

_ALL: Final = select(func.coalesce(func.sum(DefinitionTally.delta), 0)).where(
    DefinitionTally.org_id == bindparam("org_id")
)
_OF_DEPLOYMENT: Final = _ALL.where(DefinitionTally.deployment_id == bindparam("deployment_id"))


def definition_count(session: Session, org_id: str, deployment_id: str | None = None) -> int:
    """How many definitions organization ``org_id`` has (of ``deployment_id``, when given), as
    the session's transaction sees them."""
    if deployment_id is None:
        return int(session.scalar(_ALL, {"org_id": org_id}) or 0)
    parameters = {"org_id": org_id, "deployment_id": deployment_id}
    return int(session.scalar(_OF_DEPLOYMENT, parameters) or 0)
