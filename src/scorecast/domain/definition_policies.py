"""A job definition's scheduling and run policies (pure): the typed form and its wire form.

The policy keys sit at the top level of a definition's body, beside ``name``, ``enabled`` and
``schedule`` (camelCase, as the rest of the API)::

    {"overlapPolicy": "skip",
     "catchUp": {"windowSeconds": 3600, "maxRuns": 1},
     "retry": {"maxAttempts": 1, "delaySeconds": 60, "backoffFactor": 2},
     "timeoutSeconds": null, "expectedDurationSeconds": null,
     "autoDisableAfterFailures": null, "jitterSeconds": 0,
     "retention": null}

Contracts:

- Every key is optional; a missing key keeps its current value (its default on create), and a
  ``null`` resets it to its default. The defaults are today's behaviour: skip a fire while the
  previous run is waiting or running, run only the latest fire missed in the last hour, no retry,
  no timeout, never auto-disable, no jitter, the server's retention.
- A nested object (``catchUp``, ``retry``, ``retention``) given replaces the whole setting; its
  missing keys take their defaults.
- ``retention: null`` means the server's default retention; a retention object applies as given
  (``null`` limits inside it mean "no limit").
- Invalid values fail with ``InvalidInput`` naming the field path, e.g.
  ``{"catchUp": {"maxRuns": "must be an integer from 0 to 1000"}}``; every problem is reported.
- ``policies_to_wire(parse_policies(wire))`` gives back every key of ``wire`` with the value it
  had, and ``parse_policies(policies_to_wire(p)) == p`` for every valid ``p``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Final

from scorecast.errors import InvalidInput

#: The top-level keys of a definition's body that are policies (not job spec keys).
POLICY_KEYS: Final = (
    "overlapPolicy",
    "catchUp",
    "retry",
    "timeoutSeconds",
    "expectedDurationSeconds",
    "autoDisableAfterFailures",
    "jitterSeconds",
    "retention",
)

_DAY: Final = 86_400
MAX_DURATION_SECONDS: Final = 30 * _DAY
MAX_CATCH_UP_WINDOW_SECONDS: Final = 366 * _DAY
MAX_CATCH_UP_RUNS: Final = 1000
MAX_ATTEMPTS: Final = 100
MAX_RETRY_DELAY_SECONDS: Final = 7 * _DAY
MAX_BACKOFF_FACTOR: Final = 10.0
MAX_AUTO_DISABLE_FAILURES: Final = 1000
MAX_JITTER_SECONDS: Final = 3600
MAX_RETENTION_JOBS: Final = 10_000_000
MAX_RETENTION_DAYS: Final = 36_500


class OverlapPolicy(StrEnum):
    """What a fire does while the definition's previous run is waiting or running."""

    SKIP = "skip"  #: the fire is recorded skipped
    QUEUE = "queue"  #: at most one run waits behind the active one; further fires are skipped
    CANCEL_RUNNING = "cancelRunning"  #: the active run is aborted and the new one starts
    ALLOW = "allow"  #: runs overlap, up to the server's limits


@dataclass(frozen=True)
class CatchUp:
    """After downtime, the most recent missed fires within the window run, at most ``max_runs``."""

    window_seconds: int = 3600
    max_runs: int = 1


@dataclass(frozen=True)
class Retry:
    """A failed scheduled run is retried: attempt n+1 starts ``delay * factor**(n-1)`` later."""

    max_attempts: int = 1
    delay_seconds: int = 60
    backoff_factor: float = 2.0


@dataclass(frozen=True)
class Retention:
    """Which finished jobs keep their results: ``None`` limits mean no limit."""

    max_jobs: int | None = None
    max_age_days: int | None = None
    keep_last_successful: bool = True


@dataclass(frozen=True)
class DefinitionPolicies:
    """Every policy of one definition; the defaults are the behaviour without policies."""

    overlap_policy: OverlapPolicy = OverlapPolicy.SKIP
    catch_up: CatchUp = field(default_factory=CatchUp)
    retry: Retry = field(default_factory=Retry)
    timeout_seconds: int | None = None
    expected_duration_seconds: int | None = None
    auto_disable_after_failures: int | None = None
    jitter_seconds: int = 0
    retention: Retention | None = None  #: ``None``: the server's default retention


DEFAULT_POLICIES: Final = DefinitionPolicies()


def parse_policies(
    body: Mapping[str, Any], base: DefinitionPolicies = DEFAULT_POLICIES
) -> DefinitionPolicies:
    """``base`` with the policy keys present in ``body`` applied (see the module docstring)."""
    errors: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for key in POLICY_KEYS:
        if key not in body:
            continue
        value = body[key]
        attribute, parser = _PARSERS[key]
        if value is None:
            changes[attribute] = getattr(DEFAULT_POLICIES, attribute)
            continue
        problems = _Problems()
        parsed = parser(value, problems)
        if problems.found:
            errors[key] = problems.wire()
        else:
            changes[attribute] = parsed
    if errors:
        raise InvalidInput(_summary(errors), errors)
    return replace(base, **changes)


def policies_from_stored(stored: Mapping[str, Any] | None) -> DefinitionPolicies:
    """The policies of a stored wire form (``JobDefinition.policies``); ``None``: the defaults."""
    return parse_policies(stored or {})


def policies_to_wire(policies: DefinitionPolicies) -> dict[str, Any]:
    """Every policy key with its value, as the API returns and the store keeps them."""
    retention = policies.retention
    return {
        "overlapPolicy": policies.overlap_policy.value,
        "catchUp": {
            "windowSeconds": policies.catch_up.window_seconds,
            "maxRuns": policies.catch_up.max_runs,
        },
        "retry": {
            "maxAttempts": policies.retry.max_attempts,
            "delaySeconds": policies.retry.delay_seconds,
            "backoffFactor": policies.retry.backoff_factor,
        },
        "timeoutSeconds": policies.timeout_seconds,
        "expectedDurationSeconds": policies.expected_duration_seconds,
        "autoDisableAfterFailures": policies.auto_disable_after_failures,
        "jitterSeconds": policies.jitter_seconds,
        "retention": None
        if retention is None
        else {
            "maxJobs": retention.max_jobs,
            "maxAgeDays": retention.max_age_days,
            "keepLastSuccessful": retention.keep_last_successful,
        },
    }


_Parser = Callable[[object, "_Problems"], Any]


class _Problems:
    """Problems found in one policy value: ``""`` for the value itself, else nested keys."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, key: str, problem: str) -> None:
        self.found.setdefault(key, problem)

    def wire(self) -> str | dict[str, str]:
        """The value's problem, or its keys' problems (the ``errors`` entry of the policy)."""
        return self.found[""] if "" in self.found else dict(self.found)


def _integer(value: object, low: int, high: int, key: str, problems: _Problems) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(key, f"must be an integer from {low} to {high}")
        return low
    return value


def _optional_integer(
    value: object, low: int, high: int, key: str, problems: _Problems
) -> int | None:
    return None if value is None else _integer(value, low, high, key, problems)


def _object(value: object, keys: tuple[str, ...], problems: _Problems) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        problems.add("", f"must be an object with {', '.join(keys)}")
        return {}
    for unknown in sorted(set(value) - set(keys)):
        problems.add(str(unknown), f"is not a known key (known: {', '.join(keys)})")
    return value


def _overlap(value: object, problems: _Problems) -> OverlapPolicy:
    known = {policy.value: policy for policy in OverlapPolicy}
    if isinstance(value, str) and value in known:
        return known[value]
    problems.add("", f"must be one of {', '.join(known)}")
    return OverlapPolicy.SKIP


def _catch_up(value: object, problems: _Problems) -> CatchUp:
    given = _object(value, ("windowSeconds", "maxRuns"), problems)
    default = CatchUp()
    return CatchUp(
        window_seconds=_integer(
            given.get("windowSeconds", default.window_seconds),
            0,
            MAX_CATCH_UP_WINDOW_SECONDS,
            "windowSeconds",
            problems,
        ),
        max_runs=_integer(
            given.get("maxRuns", default.max_runs), 0, MAX_CATCH_UP_RUNS, "maxRuns", problems
        ),
    )


def _retry(value: object, problems: _Problems) -> Retry:
    given = _object(value, ("maxAttempts", "delaySeconds", "backoffFactor"), problems)
    default = Retry()
    factor = given.get("backoffFactor", default.backoff_factor)
    if (
        isinstance(factor, bool)
        or not isinstance(factor, int | float)
        or not 1.0 <= factor <= MAX_BACKOFF_FACTOR
    ):
        problems.add("backoffFactor", f"must be a number from 1 to {MAX_BACKOFF_FACTOR:g}")
        factor = default.backoff_factor
    return Retry(
        max_attempts=_integer(
            given.get("maxAttempts", default.max_attempts), 1, MAX_ATTEMPTS, "maxAttempts", problems
        ),
        delay_seconds=_integer(
            given.get("delaySeconds", default.delay_seconds),
            0,
            MAX_RETRY_DELAY_SECONDS,
            "delaySeconds",
            problems,
        ),
        backoff_factor=float(factor),
    )


def _retention(value: object, problems: _Problems) -> Retention:
    given = _object(value, ("maxJobs", "maxAgeDays", "keepLastSuccessful"), problems)
    keep = given.get("keepLastSuccessful", True)
    if not isinstance(keep, bool):
        problems.add("keepLastSuccessful", "must be true or false")
        keep = True
    return Retention(
        max_jobs=_optional_integer(
            given.get("maxJobs"), 1, MAX_RETENTION_JOBS, "maxJobs", problems
        ),
        max_age_days=_optional_integer(
            given.get("maxAgeDays"), 1, MAX_RETENTION_DAYS, "maxAgeDays", problems
        ),
        keep_last_successful=keep,
    )


def _positive(high: int) -> _Parser:
    def parse(value: object, problems: _Problems) -> int:
        return _integer(value, 1, high, "", problems)

    return parse


def _jitter(value: object, problems: _Problems) -> int:
    return _integer(value, 0, MAX_JITTER_SECONDS, "", problems)


_PARSERS: Final[dict[str, tuple[str, _Parser]]] = {
    "overlapPolicy": ("overlap_policy", _overlap),
    "catchUp": ("catch_up", _catch_up),
    "retry": ("retry", _retry),
    "timeoutSeconds": ("timeout_seconds", _positive(MAX_DURATION_SECONDS)),
    "expectedDurationSeconds": ("expected_duration_seconds", _positive(MAX_DURATION_SECONDS)),
    "autoDisableAfterFailures": (
        "auto_disable_after_failures",
        _positive(MAX_AUTO_DISABLE_FAILURES),
    ),
    "jitterSeconds": ("jitter_seconds", _jitter),
    "retention": ("retention", _retention),
}


def _summary(errors: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for key, problem in errors.items():
        if isinstance(problem, Mapping):
            parts.extend(f"{key}.{inner}: {text}" for inner, text in problem.items())
        else:
            parts.append(f"{key}: {problem}")
    return "; ".join(parts)
