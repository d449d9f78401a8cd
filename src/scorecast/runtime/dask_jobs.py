"""Which executor scores a job when the server has a Dask cluster (``SCORECAST_DASK_ADDRESS``).

``scorer`` returns ``engine.run_job`` or a function with its signature that scores the job on
the cluster (``engine.dask_executor``). A job goes to the cluster when its intake can be split
(a CSV in an ASCII-compatible encoding or a Parquet file on the filesystem, S3, Azure or GCS),
its output can hold the tasks' parts (``filesystem``, ``s3``, ``azure``, ``gcp``:
``connectors.part_stores``) and its input is larger than ``SMALL_INPUT_CHUNKS`` chunks. Any other
job runs locally, and its log says why (``"runs locally: <reason>"``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake, Output
from scorecast.connectors.fileio import FileIntake
from scorecast.connectors.part_stores import PART_STORE_TYPES, open_part_store
from scorecast.connectors.shipped_context import ShippedContext
from scorecast.domain.job_spec import JobSpec
from scorecast.engine import JobOutcome, run_job
from scorecast.engine.runner import SMALL_INPUT_CHUNKS
from scorecast.errors import MissingExtra
from scorecast.formats.dialect import is_ascii_compatible
from scorecast.runtime.job_ledger import JobPlan

#: intake types whose files a task on another machine can read by parts
SPLITTABLE_INTAKES = ("filesystem", "s3", "azure", "gcp")

Scorer = Callable[..., JobOutcome]


def scorer(
    settings: Settings, plan: JobPlan, ctx: ConnectorContext, log: Callable[[str], None]
) -> Scorer:
    """``run_job``, or the cluster's scorer for this job (see the module docstring)."""
    if importlib.util.find_spec("distributed") is None:
        raise MissingExtra("distributed", "dask")
    intake_settings = dict(plan.spec.intake.to_wire())
    output_settings = dict(plan.spec.output.to_wire())
    reason = _why_local(intake_settings, output_settings, plan)
    if reason is not None:
        log(f"runs locally: {reason}")
        return run_job

    def score(spec: JobSpec, intake: Intake, output: Output, **kwargs: Any) -> JobOutcome:
        if not isinstance(intake, FileIntake):
            log(f"runs locally: the {intake_settings['type']} intake cannot be read by parts")
            return run_job(spec, intake, output, **kwargs)
        return _score_on_cluster(
            spec,
            intake,
            output,
            settings=settings,
            ctx=ctx,
            intake_settings=intake_settings,
            output_settings=output_settings,
            log=log,
            kwargs=kwargs,
        )

    return score


def _why_local(intake: dict[str, Any], output: dict[str, Any], plan: JobPlan) -> str | None:
    if intake.get("type") not in SPLITTABLE_INTAKES:
        return (
            f"a {intake.get('type')} input cannot be split into parts (only files on the "
            "filesystem, S3, Azure or GCS can)"
        )
    if output.get("type") not in PART_STORE_TYPES:
        return (
            f"a {output.get('type')} output cannot take parts from the cluster (only "
            f"{', '.join(PART_STORE_TYPES)} outputs can)"
        )
    encoding = plan.spec.csv.encoding
    if intake.get("format", "csv") == "csv" and not is_ascii_compatible(encoding):
        return f"a CSV in {encoding} cannot be cut by bytes"
    return None


def _score_on_cluster(
    spec: JobSpec,
    intake: FileIntake,
    output: Output,
    *,
    settings: Settings,
    ctx: ConnectorContext,
    intake_settings: dict[str, Any],
    output_settings: dict[str, Any],
    log: Callable[[str], None],
    kwargs: dict[str, Any],
) -> JobOutcome:
    from scorecast.engine import dask_executor

    shipped = ShippedContext.resolve(ctx, intake_settings, output_settings)
    job = dask_executor.prepare(
        intake,
        intake_settings,
        output_settings,
        shipped,
        artifact=Path(kwargs["artifact"]),
        description=kwargs["description"],
        spec=spec,
    )
    if len(job.split.parts) <= SMALL_INPUT_CHUNKS:
        log(f"runs locally: the input is small ({len(job.split.parts)} part(s))")
        return run_job(spec, intake, output, **kwargs)
    store = open_part_store(output_settings, ctx)
    token = ctx.output_token
    if store is None or token is None:
        log("runs locally: the output cannot take parts")
        return run_job(spec, intake, output, **kwargs)
    store.remove_others()
    return dask_executor.run_on_dask(
        settings.dask_address,
        job,
        output,
        store,
        report=kwargs["report"],
        should_abort=kwargs["should_abort"],
        log=log,
        name=f"scorecast-{token.job_id}-{token.attempt}",
    )
