"""The organization and admin user created on first start and used by ``token create`` (pure)."""

from __future__ import annotations

from typing import Final

DEFAULT_ORG: Final = "default"
DEFAULT_ADMIN: Final = "admin"
