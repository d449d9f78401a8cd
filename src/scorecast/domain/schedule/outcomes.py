"""What happened to one scheduled time of a definition: the fire outcomes (pure).

Every scheduled time a scheduler reaches gets exactly one fire row with one of these outcomes
(``GET batchPredictionJobDefinitions/{id}/fires/`` lists them), so nothing the scheduler decides
is invisible.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class FireOutcome(StrEnum):
    """A fire's ``outcome``; one member per way a scheduled time can end."""

    STARTED = "started"  #: a job was created for the time (it may start late: see lateness)
    QUEUED = "queued"  #: a job was created and waits behind the active run (overlap ``queue``)
    SKIPPED = "skipped"  #: the overlap policy skipped it (a previous run was waiting or running)
    MISSED = "missed"  #: no scheduler ran at the time and the catch-up policy did not run it
    FAILED = "failed"  #: the job could not be created (a deleted deployment, credential ...)
    RETRIED = "retried"  #: a failed run of the time was run again (the retry policy)
    BACKFILL = "backfill"  #: the time was run by a backfill request


#: The outcomes that created a job for the time.
RUN_OUTCOMES: Final = frozenset({FireOutcome.STARTED, FireOutcome.QUEUED})
#: The outcomes worth a user's attention (the console's overview lists them).
ATTENTION_OUTCOMES: Final = frozenset({FireOutcome.SKIPPED, FireOutcome.MISSED, FireOutcome.FAILED})
