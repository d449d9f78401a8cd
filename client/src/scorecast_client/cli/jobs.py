"""``scorecast jobs``: list, show, watch, logs, abort and download jobs."""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from scorecast_client._exceptions import JobFailed, WaitTimeout
from scorecast_client._jobs import Job
from scorecast_client._models import JobData
from scorecast_client._polling import POLL_INTERVAL, Deadline
from scorecast_client.cli._common import (
    EXIT_FAILED,
    JsonOption,
    ProfileOption,
    QuietOption,
    connect,
    echo,
    exit_with,
    finite,
    handle_errors,
    print_fields,
    print_ids,
    print_json,
    print_table,
    short_time,
    writable_output,
)
from scorecast_client.cli._progress import ProgressDisplay, describe

app = typer.Typer(
    help="Follow and manage jobs.",
    no_args_is_help=True,
    epilog="Example: scorecast jobs list --status RUNNING --limit 5",
)

IdArgument = Annotated[str, typer.Argument(metavar="JOB_ID", help="the job id")]


def job_rows(jobs: list[JobData]) -> list[tuple[object, ...]]:
    return [
        (
            job["id"],
            job["status"],
            f"{float(job.get('percentageCompleted') or 0):.0f}%",
            job.get("scoredRows"),
            job.get("failedRows"),
            job["jobSpec"].get("deploymentId"),
            _definition_name(job),
            short_time(job.get("created")),
        )
        for job in jobs
    ]


def _definition_name(job: JobData) -> str | None:
    definition = job.get("batchPredictionJobDefinition")
    return definition["name"] if definition else None


JOB_COLUMNS = (
    "ID", "STATUS", "DONE", "SCORED", "FAILED", "DEPLOYMENT", "DEFINITION", "CREATED (UTC)"
)  # fmt: skip


@app.command("list", epilog="Example: scorecast jobs list --status FAILED --json")
@handle_errors
def list_jobs(
    *,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", metavar="STATUS", help="INITIALIZING, RUNNING, COMPLETED, ABORTED or FAILED"
        ),
    ] = None,
    definition: Annotated[
        str | None,
        typer.Option("--definition", metavar="DEFINITION", help="jobs of this definition id"),
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option("--deployment", metavar="DEPLOYMENT", help="jobs of this deployment id"),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="LIMIT", min=1, help="at most this many jobs")
    ] = 20,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """The newest jobs first."""
    statuses = [value.upper() for value in status or []]
    with connect(profile) as client:
        found = client.jobs.list(
            status=statuses,
            definition_id=definition,
            deployment_id=deployment,
            page_size=min(limit, 100),
        )
        jobs = [job.data for job in itertools.islice(found, limit)]
    if json_output:
        print_json(jobs)
    elif quiet:
        print_ids(job["id"] for job in jobs)
    else:
        print_table(JOB_COLUMNS, job_rows(jobs))


@app.command("show", epilog="Example: scorecast jobs show 65f0c0ffee0000000000abcd")
@handle_errors
def show(
    job_id: IdArgument, profile: ProfileOption = None, json_output: JsonOption = False
) -> None:
    """One job: status, progress, figures and its spec."""
    with connect(profile) as client:
        job = client.jobs.get(job_id).data
    if json_output:
        print_json(job)
        return
    print_fields(
        [
            ("id", job["id"]),
            ("status", job["status"]),
            ("details", job["statusDetails"]),
            ("progress", describe(job)),
            ("deployment", job["jobSpec"].get("deploymentId")),
            ("definition", _definition_name(job)),
            ("source", job.get("source")),
            ("created", job.get("created")),
            ("started", job.get("started")),
            ("finished", job.get("finished")),
            ("intake", job["jobSpec"].get("intakeSettings")),
            ("output", job["jobSpec"].get("outputSettings")),
        ]
    )


@app.command("watch", epilog="Example: scorecast jobs watch 65f0c0ffee00 65f0c0ffee01")
@handle_errors
def watch(
    job_ids: Annotated[list[str], typer.Argument(metavar="JOB_ID...", help="one or more job ids")],
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="TIMEOUT",
            min=0.0,
            callback=finite,
            help="give up after this many seconds",
        ),
    ] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Live progress until every job ends; exit 1 if one did not complete."""
    deadline = Deadline(timeout)
    with connect(profile) as client, ProgressDisplay(enabled=not quiet) as progress:
        jobs = [client.jobs._poll(job_id, deadline) for job_id in dict.fromkeys(job_ids)]
        while True:
            for job in jobs:
                progress.update(job.data)
            running = [job for job in jobs if not job.done]
            if not running:
                break
            if deadline.passed():
                raise WaitTimeout(f"{len(running)} job(s) still running after {timeout:g} s")
            time.sleep(POLL_INTERVAL)  # one request per job and second at most
            for job in running:
                job.data = client.jobs._poll(job.id, deadline).data  # ends by the deadline too
    failed = [job for job in jobs if job.status != "COMPLETED"]
    if json_output:
        print_json([job.data for job in jobs])
    elif not quiet:
        for job in jobs:
            echo(f"{job.id}: {job.status}: {job.data['statusDetails']}", err=True)
    if failed:
        if len(jobs) == 1:
            exit_with(_fail(failed[0]))
        typer.echo(f"error: {len(failed)} of {len(jobs)} jobs did not complete", err=True)
        exit_with(EXIT_FAILED)


def _fail(job: Job) -> int:
    echo(f"error: {JobFailed(job.data).message}", err=True)
    return EXIT_FAILED


@app.command("logs", epilog="Example: scorecast jobs logs 65f0c0ffee00 --follow")
@handle_errors
def logs(
    job_id: IdArgument,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing new lines until the job ends")
    ] = False,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
) -> None:
    """The job's log lines."""
    with connect(profile) as client:
        job = client.jobs.get(job_id)
        if json_output and not follow:
            print_json(job.logs)
            return
        shown = 0
        while True:
            lines = job.logs
            for line in lines[shown:]:
                echo(line)
            sys.stdout.flush()
            shown = len(lines)
            if not follow or job.done:
                break
            time.sleep(POLL_INTERVAL)
            job.refresh()


@app.command("abort", epilog="Example: scorecast jobs abort 65f0c0ffee00")
@handle_errors
def abort(
    job_id: IdArgument,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Abort a job (a running one stops within seconds); exit 1 if it already ended."""
    with connect(profile) as client:
        job = client.jobs.abort(job_id)
    if json_output:
        print_json(job.data)
    elif quiet:
        echo(job.id)
    else:
        echo(f"job {job.id}: {job.status}: {job.data['statusDetails']}")


@app.command("download", epilog="Example: scorecast jobs download 65f0c0ffee00 -o scored.csv")
@handle_errors
def download(
    job_id: IdArgument,
    output: Annotated[
        str,
        typer.Option("--output", "-o", metavar="OUTPUT", help="the file to write (- for stdout)"),
    ],
    profile: ProfileOption = None,
    quiet: QuietOption = False,
) -> None:
    """Download a job's result (a localFile output), also while it runs."""
    if output != "-":
        writable_output(output)
    with connect(profile) as client:
        if output == "-":
            size = client.jobs.download(job_id, sys.stdout.buffer)
        else:
            size = client.jobs.download(job_id, Path(output))
    if not quiet and output != "-":
        typer.echo(f"wrote {size:,} bytes to {output}", err=True)
