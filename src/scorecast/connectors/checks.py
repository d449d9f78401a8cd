"""Helpers for the submit-time checks of connector settings (pure: no network, no files).

A connector's ``validate`` builds a ``Checks`` over one side's settings (``config``), records
every problem by key, and calls ``done()``, which raises one ``InvalidInput`` listing them all
(keys in wire spelling).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from scorecast.connectors.safety import UnsafeLocationError
from scorecast.errors import InvalidInput

#: which end of a job a connector's settings describe: ``intakeSettings`` or ``outputSettings``
Side = Literal["intake", "output"]

FORMATS = ("csv", "parquet")


class Checks:
    """Collects the problems of one settings object; ``done()`` raises them together."""

    def __init__(self, config: Mapping[str, Any], allowed: Iterable[str]) -> None:
        self.config = config
        self.errors: dict[str, str] = {}
        known = set(allowed) | {"type"}
        for key in config:
            if key not in known:
                self.errors[key] = "is not a setting of this type; allowed: " + ", ".join(
                    sorted(known - {"type"})
                )

    def problem(self, key: str, text: str) -> None:
        self.errors.setdefault(key, text)

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self.config.get(key)
        if value is None:
            if required:
                self.problem(key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(key, "must be a non-empty string")
            return None
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.config.get(key)
        if value is not None and not isinstance(value, bool):
            self.problem(key, "must be true or false")
            return None
        return value

    def integer(self, key: str, minimum: int, maximum: int) -> int | None:
        value = self.config.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, "must be an integer")
            return None
        if not minimum <= value <= maximum:
            self.problem(key, f"must be between {minimum} and {maximum}")
            return None
        return value

    def string_list(self, key: str) -> list[str] | None:
        value = self.config.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            self.problem(key, "must be a list of column names")
            return None
        return value

    def file_format(self) -> str:
        value = self.config.get("format")
        if value is None:
            return "csv"
        if value not in FORMATS:
            self.problem("format", f"must be 'csv' or 'parquet', not {value!r}")
            return "csv"
        return str(value)

    def location(self, key: str, check: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a ``safety`` check on ``settings[key]``; unsafe → a problem."""
        try:
            return check(*args, **kwargs)
        except UnsafeLocationError as exc:
            self.problem(key, str(exc))
            return None

    def done(self) -> dict[str, Any]:
        """The settings as sent (a copy), or ``InvalidInput`` with every problem found."""
        if self.errors:
            summary = "; ".join(f"{key}: {text}" for key, text in self.errors.items())
            raise InvalidInput(summary, dict(self.errors))
        return dict(self.config)
