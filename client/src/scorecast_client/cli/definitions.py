"""``scorecast definitions``: stored job specs with an optional schedule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from scorecast_client._client import Client
from scorecast_client._jobs import Job
from scorecast_client._models import BackfillData, DefinitionData
from scorecast_client.cli._common import (
    JsonOption,
    ProfileOption,
    QuietOption,
    UsageError,
    connect,
    echo,
    handle_errors,
    print_fields,
    print_ids,
    print_json,
    print_one,
    print_table,
    short_time,
)
from scorecast_client.cli._progress import ProgressDisplay

app = typer.Typer(
    help="Manage job definitions (stored specs, optionally scheduled).",
    no_args_is_help=True,
    epilog="Example: scorecast definitions create -f nightly.yaml --run",
)

Ref = Annotated[str, typer.Argument(metavar="ID|NAME", help="the definition's id or name")]
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="the definition's id")]
SpecFile = Annotated[
    Path,
    typer.Option(
        "--file", "-f", metavar="FILE", help="the definition as YAML (.yaml, .yml) or JSON"
    ),
]
WaitOption = Annotated[
    bool, typer.Option("--wait", help="show the job's progress until it ends; exit 1 if it fails")
]


def read_spec(path: Path) -> dict[str, Any]:
    """A definition file as a JSON object (UsageError when unreadable or not an object)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            document = yaml.safe_load(text)
        else:
            document = json.loads(text)
    except ValueError as exc:  # yaml.YAMLError is not one; caught below
        raise UsageError(f"{path} is not valid JSON: {exc}") from None
    except Exception as exc:
        raise UsageError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(document, dict):
        raise UsageError(
            f"{path} must hold one object (the definition), not {type(document).__name__}"
        )
    return document


def _rows(definitions: list[DefinitionData]) -> list[tuple[object, ...]]:
    return [
        (
            item["id"],
            item["name"],
            "yes" if item["enabled"] else "no",
            item["batchPredictionJob"].get("deploymentId"),
            item.get("lastStartedJobStatus"),
            short_time(item.get("nextScheduledRunTime")),
        )
        for item in definitions
    ]


def _print_one(definition: DefinitionData, json_output: bool, quiet: bool) -> None:
    if json_output:
        print_json(definition)
    elif quiet:
        echo(definition["id"])
    else:
        spec = definition["batchPredictionJob"]
        print_fields(
            [
                ("id", definition["id"]),
                ("name", definition["name"]),
                ("enabled", definition["enabled"]),
                ("deployment", spec.get("deploymentId")),
                ("schedule", definition.get("schedule")),
                ("intake", spec.get("intakeSettings")),
                ("output", spec.get("outputSettings")),
                ("last job", definition.get("lastStartedJobStatus")),
                ("last success", definition.get("lastSuccessfulRunTime")),
                ("last failure", definition.get("lastFailedRunTime")),
                ("next run", definition.get("nextScheduledRunTime")),
            ]
        )


def _run(client: Client, definition_id: str, wait: bool, quiet: bool) -> Job:
    job = client.definitions.run(definition_id)
    if wait:
        with ProgressDisplay(enabled=not quiet) as progress:
            job.wait(on_progress=lambda current: progress.update(current.data))
    return job


def _print_job(job: Job, json_output: bool, quiet: bool) -> None:
    text = f"job {job.id}: {job.status}: {job.data['statusDetails']}"
    print_one(job.data, ident=job.id, text=text, json_output=json_output, quiet=quiet)


@app.command("list", epilog="Example: scorecast definitions list --search nightly --quiet")
@handle_errors
def list_definitions(
    search: Annotated[
        str | None, typer.Option("--search", metavar="SEARCH", help="names containing this")
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option(
            "--deployment", metavar="DEPLOYMENT", help="definitions of this deployment id"
        ),
    ] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Every definition, newest first."""
    with connect(profile) as client:
        found = list(client.definitions.list(search_name=search, deployment_id=deployment))
    if json_output:
        print_json(found)
    elif quiet:
        print_ids(item["id"] for item in found)
    else:
        columns = ("ID", "NAME", "ENABLED", "DEPLOYMENT", "LAST JOB", "NEXT RUN (UTC)")
        print_table(columns, _rows(found))


@app.command("show", epilog="Example: scorecast definitions show nightly-readmission")
@handle_errors
def show(ref: Ref, profile: ProfileOption = None, json_output: JsonOption = False) -> None:
    """One definition, by id or by exact name."""
    with connect(profile) as client:
        _print_one(client.definitions.find(ref), json_output, quiet=False)


@app.command("create", epilog="Example: scorecast definitions create -f nightly.yaml --run --wait")
@handle_errors
def create(
    file: SpecFile,
    *,
    run: Annotated[bool, typer.Option("--run", help="run it once right away")] = False,
    wait: WaitOption = False,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Store a definition from a YAML or JSON file (the job spec plus name, enabled, schedule)."""
    spec = read_spec(file)
    with connect(profile) as client:
        definition = client.definitions.create(spec)
        if not (run and json_output):  # with --run, --json prints the job alone
            _print_one(definition, json_output, quiet)
        if run:
            job = _run(client, definition["id"], wait, quiet)
            _print_job(job, json_output, quiet)


@app.command("update", epilog="Example: scorecast definitions update 65f0c0ffee00 -f change.yaml")
@handle_errors
def update(
    definition_id: IdArgument,
    file: SpecFile,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Replace the top-level keys the file holds (intake and output settings whole)."""
    changes = read_spec(file)
    with connect(profile) as client:
        _print_one(client.definitions.update(definition_id, changes), json_output, quiet)


def _switch(definition_id: str, enabled: bool, profile: str | None, json_output: bool) -> None:
    with connect(profile) as client:
        definition = client.definitions.update(definition_id, {"enabled": enabled})
    if json_output:
        print_json(definition)
    else:
        state = "enabled" if definition["enabled"] else "disabled"
        echo(f"definition {definition['id']} ({definition['name']}) is {state}")


@app.command("enable", epilog="Example: scorecast definitions enable 65f0c0ffee00")
@handle_errors
def enable(
    definition_id: IdArgument, profile: ProfileOption = None, json_output: JsonOption = False
) -> None:
    """Let the scheduler run it again."""
    _switch(definition_id, True, profile, json_output)


@app.command("disable", epilog="Example: scorecast definitions disable 65f0c0ffee00")
@handle_errors
def disable(
    definition_id: IdArgument, profile: ProfileOption = None, json_output: JsonOption = False
) -> None:
    """Stop scheduled runs (running once by hand still works)."""
    _switch(definition_id, False, profile, json_output)


@app.command("run", epilog="Example: scorecast definitions run 65f0c0ffee00 --wait")
@handle_errors
def run(
    definition_id: IdArgument,
    wait: WaitOption = False,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Run it once, now; with --wait, exit 1 with the server's reason if the job fails."""
    with connect(profile) as client:
        _print_job(_run(client, definition_id, wait, quiet), json_output, quiet)


@app.command("fires", epilog="Example: scorecast definitions fires nightly --outcome missed")
@handle_errors
def fires(
    ref: Ref,
    outcome: Annotated[
        list[str] | None,
        typer.Option(
            "--outcome",
            metavar="OUTCOME",
            help="only these outcomes: started, queued, skipped, missed, failed, ...",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, metavar="N", help="at most this many fires")
    ] = 50,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
) -> None:
    """The scheduled times on record, newest first, with what happened and why."""
    with connect(profile) as client:
        definition = client.definitions.find(ref)
        found = []
        for fire in client.definitions.fires(definition["id"], outcome=outcome):
            found.append(fire)
            if len(found) >= limit:
                break
    if json_output:
        print_json(found)
        return
    rows = [
        (short_time(f["scheduledTime"]), f["outcome"], f["jobId"] or "", f["reason"] or "")
        for f in found
    ]
    print_table(("SCHEDULED (UTC)", "OUTCOME", "JOB", "REASON"), rows)


@app.command("preview", epilog="Example: scorecast definitions preview nightly --count 5")
@handle_errors
def preview(
    ref: Ref,
    count: Annotated[
        int, typer.Option("--count", min=1, max=1000, metavar="N", help="how many fires")
    ] = 10,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
) -> None:
    """The next fires of its schedule, in UTC and in its time zone, with DST marks."""
    with connect(profile) as client:
        definition = client.definitions.find(ref)
        shown = client.definitions.preview(definition["id"], count)
    if json_output:
        print_json(shown)
        return
    echo(shown["description"])
    for warning in shown["warnings"]:
        echo(f"warning: {warning}")
    rows = [(f["utc"][:19].replace("T", " "), f["local"], f["dst"] or "") for f in shown["fires"]]
    print_table(("UTC", f"LOCAL ({shown['timezone'] or 'UTC'})", "DST"), rows)


def _progress_text(backfill: BackfillData) -> str:
    p = backfill["progress"]
    return (
        f"backfill {backfill['id']}: {backfill['status']}: {p['total']} fire times, "
        f"{p['planned']} planned, {p['waiting']} waiting, {p['running']} running, "
        f"{p['done']} done, {p['failed'] + p['aborted']} failed, {p['skipped']} skipped"
        + (f", {p['cancelled']} cancelled" if p["cancelled"] else "")
    )


@app.command(
    "backfill",
    epilog="Example: scorecast definitions backfill nightly --start 2026-01-01 --end 2026-04-01",
)
@handle_errors
def backfill(
    ref: Ref,
    *,
    start: Annotated[
        str, typer.Option("--start", metavar="TIME", help="first time, ISO 8601 (UTC if no zone)")
    ],
    end: Annotated[
        str, typer.Option("--end", metavar="TIME", help="end of the range (not included)")
    ],
    max_concurrent: Annotated[
        int, typer.Option("--max-concurrent", min=1, metavar="N", help="jobs at once")
    ] = 1,
    rerun: Annotated[
        bool, typer.Option("--rerun", help="run times that already have a fire again")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="show progress until it ends; exit 1 if any time failed"),
    ] = False,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Run it for every fire time of its schedule in [START, END), MAX-CONCURRENT at once."""
    with connect(profile) as client:
        definition_id = client.definitions.find(ref)["id"]
        made = client.definitions.backfill(
            definition_id, start, end, max_concurrent=max_concurrent, rerun=rerun
        )
        if wait:
            show = not (quiet or json_output)

            def report(current: BackfillData) -> None:
                if show:
                    echo(_progress_text(current), err=True)

            made = client.backfills.wait(definition_id, made["id"], on_progress=report)
    print_one(
        made, ident=made["id"], text=_progress_text(made), json_output=json_output, quiet=quiet
    )
    if wait and (made["progress"]["failed"] + made["progress"]["aborted"]):
        raise typer.Exit(1)


@app.command("backfills", epilog="Example: scorecast definitions backfills nightly")
@handle_errors
def backfills(
    ref: Ref,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Its backfills, newest first, with their progress."""
    with connect(profile) as client:
        found = list(client.backfills.list(client.definitions.find(ref)["id"]))
    if json_output:
        print_json(found)
    elif quiet:
        print_ids(item["id"] for item in found)
    else:
        rows = [
            (
                item["id"],
                short_time(item["start"]),
                short_time(item["end"]),
                item["status"],
                item["progress"]["total"],
                item["progress"]["done"],
                item["progress"]["failed"] + item["progress"]["aborted"],
                item["progress"]["planned"],
            )
            for item in found
        ]
        columns = ("ID", "START (UTC)", "END (UTC)", "STATUS", "TIMES", "DONE", "FAILED", "PLANNED")
        print_table(columns, rows)


@app.command(
    "cancel-backfill", epilog="Example: scorecast definitions cancel-backfill nightly 65f0c0ff"
)
@handle_errors
def cancel_backfill(
    ref: Ref,
    backfill_id: Annotated[str, typer.Argument(metavar="BACKFILL", help="the backfill's id")],
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Cancel the rest of a backfill: waiting jobs are aborted, running ones finish."""
    with connect(profile) as client:
        cancelled = client.backfills.cancel(client.definitions.find(ref)["id"], backfill_id)
    print_one(
        cancelled,
        ident=cancelled["id"],
        text=_progress_text(cancelled),
        json_output=json_output,
        quiet=quiet,
    )


@app.command("delete", epilog="Example: scorecast definitions delete 65f0c0ffee00")
@handle_errors
def delete(
    definition_id: IdArgument, profile: ProfileOption = None, quiet: QuietOption = False
) -> None:
    """Delete it: no more scheduled runs (a job it started finishes)."""
    with connect(profile) as client:
        client.definitions.delete(definition_id)
    if not quiet:
        typer.echo(f"deleted definition {definition_id}", err=True)
