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
from typing import Any

from scorecast.child_process import call_in_child
from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, OutputToken
from scorecast.domain.job_claim import Claim
from scorecast.errors import ConnectorError, ScorecastError
from scorecast.runtime.store_ledger import StoreLedger

log = logging.getLogger("scorecast.worker")


def discard_dead_attempt(settings: Settings, ledger: StoreLedger, claim: Claim) -> None:
    """Remove what ``claim``'s attempt left staged (its job process is gone); errors are
    logged, never raised: the job's outcome is already settled."""
    try:
        plan = ledger.plan()
        output = dict(plan.spec.get("outputSettings") or {})
        credentials = _resolved(output.get("credentialId"), ledger.credential)
        data_stores = _resolved(output.get("dataStoreId"), ledger.data_store)
        template = {"job_id": claim.job_id, "attempt": str(claim.attempt)}
        if plan.scheduled_time:
            template["scheduled_time"] = plan.scheduled_time
        dead = DeadOutput(
            settings,
            output,
            template,
            OutputToken(claim.job_id, claim.attempt),
            credentials,
            data_stores,
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
        output_token=dead.token,
    )
    output = registry.open_output(dead.output_settings, ctx)
    try:
        output.remove_debris()
    finally:
        output.abort()
