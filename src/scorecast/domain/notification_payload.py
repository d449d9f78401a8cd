"""The JSON body of a notification (pure): what happened, to which definition and job.

::

    {"event": "batch_predictions.failed", "eventId": "…", "timestamp": "…Z",
     "definition": {"id": "…", "name": "nightly"} | null,
     "job": {"id", "status", "endReason", "statusDetails", "scoredRows", "failedRows",
             "durationSeconds"} | null,
     "scheduledTime": "…Z" | null, "reason": "…" | null,
     "links": {"job": ".../batchPredictions/{id}/", "jobPage": ".../jobs/{id}" (the console),
               "definition": ".../batchPredictionJobDefinitions/{id}/"},
     "foldedEvents": 0}

Links are absolute under the server's public URL when one is set, else paths from the
server's root. ``foldedEvents`` counts the earlier events a policy's ``maximalFrequency``
folded into this delivery (their own payloads are not repeated).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scorecast.domain.job_statuses import end_reason, wire_status
from scorecast.domain.wire_time import rfc3339

API_PREFIX = "/api/v2"
CONSOLE_PREFIX = ""  #: the web console is served from the root
TEST_EVENT = "notifications.test"


@dataclass(frozen=True)
class JobFacts:
    """A job as the payload shows it (stored status; times UTC)."""

    id: str
    status: str
    status_details: str
    scored_rows: int
    failed_rows: int
    started: datetime | None
    finished: datetime | None


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 UTC with a ``Z``, as the API writes times."""
    return rfc3339(moment)


def build_payload(
    *,
    event: str,
    event_id: str,
    now: datetime,
    definition: tuple[str, str] | None,
    job: JobFacts | None,
    scheduled_time: datetime | None,
    reason: str | None,
    public_url: str | None,
) -> dict[str, Any]:
    """The payload of one event; ``definition`` is (id, name)."""
    root = (public_url or "").rstrip("/")
    links: dict[str, str] = {}
    if job is not None:
        links["job"] = f"{root}{API_PREFIX}/batchPredictions/{job.id}/"
        links["jobPage"] = f"{root}{CONSOLE_PREFIX}/jobs/{job.id}"
    if definition is not None:
        links["definition"] = f"{root}{API_PREFIX}/batchPredictionJobDefinitions/{definition[0]}/"
    return {
        "event": event,
        "eventId": event_id,
        "timestamp": iso(now),
        "definition": None if definition is None else {"id": definition[0], "name": definition[1]},
        "job": None if job is None else _job(job),
        "scheduledTime": iso(scheduled_time),
        "reason": reason,
        "links": links,
        "foldedEvents": 0,
    }


def _job(job: JobFacts) -> dict[str, Any]:
    duration = None
    if job.started is not None and job.finished is not None:
        duration = round((job.finished - job.started).total_seconds(), 3)
    return {
        "id": job.id,
        "status": wire_status(job.status),
        "endReason": end_reason(job.status),
        "statusDetails": job.status_details,
        "scoredRows": job.scored_rows,
        "failedRows": job.failed_rows,
        "durationSeconds": duration,
    }


def email_subject(payload: dict[str, Any]) -> str:
    """A one-line subject for an email notification: every line break in it (whatever
    ``str.splitlines`` breaks at, such as a definition name's ``\n`` or ``U+2028``) is a
    space, since a header cannot hold one."""
    definition = payload.get("definition") or {}
    name = definition.get("name") if isinstance(definition, dict) else None
    subject = f"[scorecast] {payload.get('event')}"
    return one_line(f"{subject}: {name}" if name else subject)


def one_line(text: str) -> str:
    """``text`` with its line breaks (``str.splitlines``'s, ``\r\n`` as one) made spaces;
    a break at the end is dropped."""
    return " ".join(text.splitlines())


def email_text(payload: dict[str, Any]) -> str:
    """A plain-text body for an email notification: the facts, one per line."""
    lines = [f"Event: {payload.get('event')}"]
    definition = payload.get("definition")
    if isinstance(definition, dict):
        lines.append(f"Job definition: {definition.get('name')} ({definition.get('id')})")
    job = payload.get("job")
    if isinstance(job, dict):
        lines.append(f"Job: {job.get('id')}, {job.get('status')} ({job.get('endReason')})")
        lines.append(f"Details: {job.get('statusDetails')}")
        lines.append(f"Rows scored: {job.get('scoredRows')}, failed: {job.get('failedRows')}")
        if job.get("durationSeconds") is not None:
            lines.append(f"Duration: {job.get('durationSeconds')} s")
    for label, key in (("Scheduled time", "scheduledTime"), ("Reason", "reason")):
        if payload.get(key):
            lines.append(f"{label}: {payload.get(key)}")
    if payload.get("foldedEvents"):
        lines.append(f"Earlier events folded into this message: {payload['foldedEvents']}")
    for label, link in (payload.get("links") or {}).items():
        lines.append(f"{label}: {link}")
    return "\n".join(lines) + "\n"
