"""How a file or object output marks which job committed it, and how a retry reads the mark.

The mark travels with the result itself, so it is written atomically with it: object metadata
(S3 ``x-amz-meta-*``, Azure blob metadata, GCS object metadata) set when the upload is created,
or a file's extended attribute set on the staging file before it is renamed over the target.
A retried attempt that finds its own job's mark on the destination knows its output is
committed (``Output.committed_before``). A later job writing the same destination replaces the
mark with its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from scorecast.connectors.base import OutputToken

#: metadata keys: letters only (HTTP headers for S3, C# identifiers for Azure, GCS keys)
JOB_KEY = "scorecastjob"
ATTEMPT_KEY = "scorecastattempt"


def mark_of(token: OutputToken | None) -> dict[str, str]:
    """The metadata an output of ``token``'s attempt carries (none outside a job)."""
    if token is None:
        return {}
    return {JOB_KEY: token.job_id, ATTEMPT_KEY: str(token.attempt)}


def committed_by(
    metadata: Mapping[str, str] | None, token: OutputToken | None, when: datetime | None
) -> str | None:
    """ "attempt N at <when>" when ``metadata`` is the mark of ``token``'s job, else None."""
    if token is None or not metadata:
        return None
    lowered = {str(key).lower(): str(value) for key, value in metadata.items()}
    if lowered.get(JOB_KEY) != token.job_id:
        return None
    attempt = lowered.get(ATTEMPT_KEY, "?")
    moment = f" at {when:%Y-%m-%d %H:%M:%S} UTC" if when is not None else ""
    return f"attempt {attempt}{moment}"
