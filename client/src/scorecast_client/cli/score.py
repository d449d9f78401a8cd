"""``scorecast score``: score a local CSV file with a deployment, with live progress."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from scorecast_client._jobs import Job
from scorecast_client.cli._common import (
    JsonOption,
    ProfileOption,
    QuietOption,
    UsageError,
    connect,
    finite,
    handle_errors,
    print_json,
    writable_output,
)
from scorecast_client.cli._progress import ProgressDisplay

EXAMPLES = """
Examples:

  scorecast score 65f0c0ffee00 patients.csv -o scored.csv

  cat patients.csv | scorecast score 65f0c0ffee00 - --passthrough patient_id > scored.csv
"""


@handle_errors
def score(
    deployment: Annotated[str, typer.Argument(help="the deployment id")],
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help="a CSV file, or - for stdin")],
    *,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="OUTPUT", help="where to write the scores (- for stdout)"
        ),
    ] = "-",
    passthrough: Annotated[
        list[str] | None,
        typer.Option(
            "--passthrough",
            metavar="PASSTHROUGH",
            help="an input column to copy to the output (repeat)",
        ),
    ] = None,
    passthrough_all: Annotated[
        bool, typer.Option("--passthrough-all", help="copy every input column to the output")
    ] = False,
    explanations: Annotated[
        int | None,
        typer.Option(
            "--explanations", metavar="EXPLANATIONS", min=0, help="prediction explanations per row"
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            metavar="THRESHOLD",
            min=0.0,
            max=1.0,
            callback=finite,
            help="binary: the positive-class threshold",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="TIMEOUT",
            min=0.0,
            callback=finite,
            help="seconds to wait for the job",
        ),
    ] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Score a CSV file with a deployment, showing the job's progress.

    Uploads INPUT, writes the scores to --output, and exits 1 with the server's reason if the
    job does not complete (then nothing is written at the output path).
    """
    if json_output and output == "-":
        raise UsageError("--json prints the job on stdout: give the scores a file with -o")
    source: Path | IO[bytes] = sys.stdin.buffer if input_path == "-" else Path(input_path)
    if isinstance(source, Path) and not (source.is_file() or source.is_fifo()):
        raise UsageError(f"INPUT {input_path} is not a file")
    if output != "-":
        writable_output(output)
    destination: Path | IO[bytes] = sys.stdout.buffer if output == "-" else Path(output)
    options: dict[str, Any] = {}
    if passthrough_all:
        options["passthroughColumnsSet"] = "all"
    elif passthrough:
        options["passthroughColumns"] = list(passthrough)
    if explanations is not None:
        options["maxExplanations"] = explanations
    if threshold is not None:
        options["predictionThreshold"] = threshold
    with connect(profile) as client, ProgressDisplay(enabled=not quiet) as progress:
        job: Job = client.jobs.score(
            deployment,
            source,
            destination,
            timeout=timeout,
            on_progress=lambda current: progress.update(current.data),
            **options,
        )
    if json_output:
        print_json(job.data)
    elif quiet:
        if output != "-":
            typer.echo(job.id)
    else:
        where = "stdout" if output == "-" else output
        typer.echo(
            f"job {job.id} COMPLETED: {job.data['scoredRows']:,} rows scored, "
            f"{job.data['failedRows']:,} failed, written to {where}",
            err=True,
        )


def register(app: typer.Typer) -> None:
    app.command("score", epilog=EXAMPLES)(score)
