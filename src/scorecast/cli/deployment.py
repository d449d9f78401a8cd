"""``scorecast deployment create``: register a model file through the API.

Talks to ``SCORECAST_ENDPOINT`` (default ``http://127.0.0.1:8080/api/v2``) with
``SCORECAST_TOKEN``; prints the new deployment's id alone on the last line of standard output.
A model directory (MLflow) is sent as a zip archive. The upload itself is the SDK's
(``scorecast_client``, as ``scorecast deployments create``); this command keeps the server
CLI's settings and exit codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scorecast.config import Settings
from scorecast.errors import InvalidInput, ScorecastError

app = typer.Typer(help="Register models as deployments.", no_args_is_help=True)


@app.command("create")
def create(
    model_path: Annotated[Path, typer.Argument(help="the model file (e.g. model.onnx)")],
    *,
    target: Annotated[str, typer.Option("--target", help="name of the target column")],
    target_type: Annotated[
        str, typer.Option("--target-type", help="regression, binary or multiclass")
    ],
    positive_class: Annotated[
        str | None, typer.Option("--positive-class", help="binary: the positive label")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="the deployment's name")] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option("--trust-pickle", help="allow pickle/joblib files (they can run code)"),
    ] = False,
) -> None:
    """Upload MODEL_PATH and print the new deployment's id."""
    import scorecast_client

    settings = Settings.from_env()
    if not settings.token:
        raise InvalidInput(
            "set SCORECAST_TOKEN to an API token (scorecast token create prints one)",
            {"SCORECAST_TOKEN": "is not set"},
        )
    if not model_path.exists():
        raise InvalidInput.at("MODEL_PATH", f"{model_path} does not exist")
    try:
        with scorecast_client.Client(settings.endpoint, settings.token) as client:
            body = client.deployments.register(
                model_path,
                target=target,
                target_type=target_type,
                positive_class=positive_class,
                label=label,
                trust_pickle=trust_pickle,
            )
    except scorecast_client.APIError as exc:
        raise ScorecastError(
            f"the API refused the model ({exc.status_code}): {exc.message}", exc.errors
        ) from None
    except scorecast_client.ScorecastError as exc:
        raise ScorecastError(
            f"{exc.message}; is `scorecast serve` running and SCORECAST_ENDPOINT right?"
        ) from None
    typer.echo(f"Registered {model_path.name} as deployment {body['label']!r}:", err=True)
    typer.echo(body["id"])
