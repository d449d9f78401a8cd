"""Removing what a job process that died left staged at its job's output.

A job process that crashes (killed by the kernel's out-of-memory killer, a model library that
segfaults) cannot ``abort()`` its output, and its job ends FAILED without a retry that would
remove the debris (``Output.remove_debris``). Its worker does it instead: it resolves the
output's settings, credential and data store from the store, and runs ``remove_debris`` in a
fresh child process (``child_process.call_in_child``), so that the service process never
imports a storage SDK. Open S3 multipart uploads and ``filesystem`` staging files are removed
at once this way rather than by the periodic sweep or a bucket's lifecycle rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scorecast.child_process import call_in_child
from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, OutputToken
from scorecast.domain.job_claim import Claim
from scorecast.domain.location_templates import run_values
from scorecast.errors import ConnectorError, ScorecastError
from scorecast.runtime.store_ledger import StoreLedger

log = logging.getLogger("scorecast.worker")


def discard_dead_attempt(settings: Settings, ledger: StoreLedger, claim: Claim) -> None:
    """Remove what ``claim``'s attempt left staged (its job process is gone); errors are
    logged, never raised: the job's outcome is already settled."""
    try:
        plan = ledger.plan()
        output = plan.spec.output.to_wire()
        credentials = _resolved(output.get("credentialId"), ledger.credential)
        data_stores = _resolved(output.get("dataStoreId"), ledger.data_store)
        # the placeholder values the attempt ran with (``job_run``), so the same location
        created = (
            datetime.fromisoformat(plan.created_time) if plan.created_time else datetime.now(UTC)
        )
        scheduled = datetime.fromisoformat(plan.scheduled_time) if plan.scheduled_time else None
        dead = DeadOutput(
            settings,
            output,
            run_values(claim.job_id, claim.attempt, created, scheduled),
            OutputToken(claim.job_id, claim.attempt),
            credentials,
            data_stores,
            plan.ambient_identity,
        )
        call_in_child(__name__, "remove_debris_of", dead)
    except ScorecastError as exc:
        log.warning("job %s: could not remove its staged output: %s", claim.job_id, exc.message)
    except Exception:
        log.exception("job %s: could not remove its staged output", claim.job_id)


def _resolved(identifier: Any, lookup: Any) -> dict[str, Any]:
    if not isinstance(identifier, str):
        return {}
    return {identifier: lookup(identifier)}


@dataclass(frozen=True)
class DeadOutput:
    """What the child needs to open the dead attempt's output again (secrets resolved)."""

    settings: Settings
    output_settings: Mapping[str, Any]
    template: Mapping[str, str]
    token: OutputToken
    credentials: Mapping[str, Mapping[str, Any]]
    data_stores: Mapping[str, Mapping[str, Any]]
    #: the job may use the server's own cloud identity (``ConnectorContext``), as it did
    ambient_identity: bool = False


def remove_debris_of(dead: DeadOutput) -> None:
    """In the child process: open the output as the dead attempt did, remove its debris."""
    from scorecast.connectors import registry

    def known(table: Mapping[str, Mapping[str, Any]], what: str) -> Any:
        def lookup(identifier: str, *_: Any) -> Mapping[str, Any]:
            if identifier not in table:
                raise ConnectorError(f"{what} {identifier} is not available here")
            return table[identifier]

        return lookup

    ctx = ConnectorContext(
        credential=known(dead.credentials, "credential"),
        data_store=known(dead.data_stores, "data store"),
        dataset_path=known({}, "dataset"),
        app_settings=dead.settings,
        template=dead.template,
        ambient_identity=dead.ambient_identity,
        output_token=dead.token,
    )
    output = registry.open_output(dead.output_settings, ctx)
    try:
        output.remove_debris()
    finally:
        output.abort()
