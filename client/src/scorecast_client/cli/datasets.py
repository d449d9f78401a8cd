"""``scorecast datasets``: CSV or Parquet files stored on the server, for ``dataset`` intakes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scorecast_client.cli._common import (
    JsonOption,
    ProfileOption,
    QuietOption,
    UsageError,
    connect,
    handle_errors,
    print_ids,
    print_json,
    print_one,
    print_table,
    short_time,
)

app = typer.Typer(
    help="Upload CSV or Parquet files that jobs can read (intake type dataset).",
    no_args_is_help=True,
    epilog="Example: scorecast datasets upload patients.csv --name patients",
)


@app.command("upload", epilog="Example: scorecast datasets upload patients.csv")
@handle_errors
def upload_dataset(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="a CSV or Parquet file")],
    *,
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="default: the file name")
    ] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Upload a file as a new dataset."""
    if not path.is_file():
        raise UsageError(f"FILE {path} is not a file")
    with connect(profile) as client:
        made = client.datasets.upload(path, name=name)
    text = f"uploaded {path.name} as dataset {made['name']!r}: {made['datasetId']}"
    print_one(made, ident=made["datasetId"], text=text, json_output=json_output, quiet=quiet)


@app.command("list", epilog="Example: scorecast datasets list --quiet")
@handle_errors
def list_datasets(
    profile: ProfileOption = None, json_output: JsonOption = False, quiet: QuietOption = False
) -> None:
    """Every dataset (its latest version)."""
    with connect(profile) as client:
        found = list(client.datasets.list())
    if json_output:
        print_json(found)
    elif quiet:
        print_ids(item["datasetId"] for item in found)
    else:
        rows = [
            (d["datasetId"], d["name"], d["format"], d["rowCount"], short_time(d["creationDate"]))
            for d in found
        ]
        print_table(("ID", "NAME", "FORMAT", "ROWS", "CREATED (UTC)"), rows)


@app.command("delete", epilog="Example: scorecast datasets delete 65f0c0ffee00")
@handle_errors
def delete_dataset(
    dataset_id: Annotated[str, typer.Argument(metavar="DATASET_ID")],
    profile: ProfileOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete a dataset (a job still reading it fails)."""
    with connect(profile) as client:
        client.datasets.delete(dataset_id)
    if not quiet:
        typer.echo(f"deleted dataset {dataset_id}", err=True)
