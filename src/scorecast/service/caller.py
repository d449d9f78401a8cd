"""Who is asking: the authenticated user and the organization every query is limited to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """The identity behind a request (or a scheduled run, which acts as the definition's owner).

    Service functions take a ``Caller`` and only ever see objects whose ``org_id`` equals
    ``caller.org_id``; another organization's id is answered as unknown (404).
    """

    org_id: str
    user_id: str
    username: str
    full_name: str | None = None
    is_admin: bool = False

    @property
    def display_name(self) -> str:
        return self.full_name or self.username
