"""What submitting and listing jobs costs in the service layer, against a plain-SQL baseline.

Usage: ``python bench/jobs_bench.py [--jobs 2000] [--database-url URL]`` (default: a temporary
SQLite store). Prints, per operation, the median milliseconds over the repetitions:

- ``create_job``: validate a spec (job spec, deployment, connector validators, scoring options)
  and insert the job and its first log line, one transaction each;
- ``list page``: one page of 100 jobs as the API answers it (``list_jobs`` + ``job_views`` +
  ``job_to_wire``), against the baseline of selecting the same 100 rows with plain SQLAlchemy.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from scorecast.api.serializers import job_to_wire
from scorecast.predictors.base import Feature, ModelDescription
from scorecast.service import jobs
from scorecast.service.accounts import authenticate, create_token
from scorecast.service.job_views import job_views
from scorecast.store.db import create_engine_for, migrate, session_scope
from scorecast.store.models import Deployment, Job

ROOT = "http://127.0.0.1:8080/api/v2/"


def _median_ms(action: Callable[[], object], repetitions: int) -> float:
    timings = []
    for _ in range(repetitions):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate(url)
        engine = create_engine_for(url)
        with session_scope(engine) as session:
            token = create_token(session, "bench-org", "bench-user")
        with session_scope(engine) as session:
            caller = authenticate(session, token)
            model = ModelDescription(
                format="onnx",
                target="y",
                target_type="binary",
                features=[Feature("a"), Feature("b")],
                sha256="0" * 64,
                class_labels=["0", "1"],
                positive_class="1",
            )
            deployment = Deployment(
                org_id=caller.org_id,
                label="bench",
                artifact_path="none.onnx",
                model=model.to_dict(),
                created_by=caller.user_id,
            )
            session.add(deployment)
            session.flush()
            deployment_id = deployment.id
        spec = {
            "deploymentId": deployment_id,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
            "passthroughColumns": ["a"],
        }

        def submit() -> None:
            with session_scope(engine) as session:
                jobs.create_job(session, caller, spec)

        create_ms = _median_ms(submit, args.jobs)

        def page() -> None:
            with session_scope(engine) as session:
                rows, _ = jobs.list_jobs(session, caller, jobs.JobFilters(), offset=0, limit=100)
                [job_to_wire(view, ROOT) for view in job_views(session, rows)]

        def baseline() -> None:
            with session_scope(engine) as session:
                session.scalars(select(Job).order_by(Job.created.desc()).limit(100)).all()

        page_ms = _median_ms(page, 20)
        baseline_ms = _median_ms(baseline, 20)
        engine.dispose()
    backend = url.split(":", 1)[0]
    print(f"store: {backend}, {args.jobs} jobs")
    print(f"create_job (validate + insert + commit): {create_ms:8.2f} ms median")
    print(f"list page of 100 as API JSON:            {page_ms:8.2f} ms median")
    print(f"baseline: select 100 job rows:           {baseline_ms:8.2f} ms median")
    print(f"ratio page / baseline:                   {page_ms / baseline_ms:8.1f}x")


if __name__ == "__main__":
    main()
