"""``scorecast deployments``: register, list, show and delete models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scorecast_client._models import DeploymentData
from scorecast_client.cli._common import (
    JsonOption,
    ProfileOption,
    QuietOption,
    UsageError,
    connect,
    handle_errors,
    print_fields,
    print_ids,
    print_json,
    print_one,
    print_table,
    short_time,
)

app = typer.Typer(
    help="Register and manage deployments (models).",
    no_args_is_help=True,
    epilog="Example: scorecast deployments create model.onnx --target readmitted "
    "--target-type binary --positive-class yes",
)

IdArgument = Annotated[str, typer.Argument(metavar="DEPLOYMENT_ID", help="the deployment id")]


def _rows(items: list[DeploymentData]) -> list[tuple[object, ...]]:
    return [
        (
            item["id"],
            item["label"],
            item["model"].get("type"),
            item["model"].get("targetType"),
            item["model"].get("targetName"),
            short_time(item.get("createdAt")),
        )
        for item in items
    ]


@app.command("list", epilog="Example: scorecast deployments list --json")
@handle_errors
def list_deployments(
    search: Annotated[
        str | None, typer.Option("--search", metavar="SEARCH", help="labels containing this")
    ] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Every deployment, newest first."""
    with connect(profile) as client:
        found = list(client.deployments.list(search=search))
    if json_output:
        print_json(found)
    elif quiet:
        print_ids(item["id"] for item in found)
    else:
        columns = ("ID", "LABEL", "FORMAT", "TARGET TYPE", "TARGET", "CREATED (UTC)")
        print_table(columns, _rows(found))


@app.command("show", epilog="Example: scorecast deployments show 65f0c0ffee00")
@handle_errors
def show(
    deployment_id: IdArgument, profile: ProfileOption = None, json_output: JsonOption = False
) -> None:
    """One deployment and its model's inputs."""
    with connect(profile) as client:
        item = client.deployments.get(deployment_id)
    if json_output:
        print_json(item)
        return
    model = item.get("scorecastModel", {})
    print_fields(
        [
            ("id", item["id"]),
            ("label", item["label"]),
            ("status", item["status"]),
            ("format", model.get("format", item["model"].get("type"))),
            ("target", item["model"].get("targetName")),
            ("target type", item["model"].get("targetType")),
            ("classes", model.get("classLabels")),
            ("features", [feature["name"] for feature in model.get("features", [])]),
            ("created", item.get("createdAt")),
        ]
    )


@app.command(
    "create",
    epilog="Example: scorecast deployments create model.onnx --target y "
    "--target-type regression --quiet",
)
@handle_errors
def create(
    model_path: Annotated[Path, typer.Argument(metavar="MODEL", help="the model file or folder")],
    *,
    target: Annotated[
        str, typer.Option("--target", metavar="TARGET", help="name of the target column")
    ],
    target_type: Annotated[
        str,
        typer.Option(
            "--target-type", metavar="TARGET_TYPE", help="regression, binary or multiclass"
        ),
    ],
    positive_class: Annotated[
        str | None,
        typer.Option(
            "--positive-class", metavar="POSITIVE_CLASS", help="binary: the positive label"
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", metavar="LABEL", help="the deployment's name")
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option("--trust-pickle", help="allow pickle/joblib files (they can run code)"),
    ] = False,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Upload a model and register it as a new deployment."""
    if not model_path.exists():
        raise UsageError(f"MODEL {model_path} does not exist")
    with connect(profile) as client:
        item = client.deployments.register(
            model_path,
            target=target,
            target_type=target_type,
            positive_class=positive_class,
            label=label,
            trust_pickle=trust_pickle,
        )
    text = f"registered {model_path.name} as deployment {item['label']!r}: {item['id']}"
    print_one(item, ident=item["id"], text=text, json_output=json_output, quiet=quiet)


@app.command("delete", epilog="Example: scorecast deployments delete 65f0c0ffee00")
@handle_errors
def delete(
    deployment_id: IdArgument, profile: ProfileOption = None, quiet: QuietOption = False
) -> None:
    """Delete a deployment."""
    with connect(profile) as client:
        client.deployments.delete(deployment_id)
    if not quiet:
        typer.echo(f"deleted deployment {deployment_id}", err=True)
