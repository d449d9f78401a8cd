"""``scorecast deployment create``: register a model file through the API.

Talks to ``SCORECAST_ENDPOINT`` (default ``http://127.0.0.1:8080/api/v2``) with
``SCORECAST_TOKEN``; prints the new deployment's id alone on the last line of standard output.
A model directory (MLflow) is sent as a zip archive. The upload itself is the SDK's
(``scorecast_client``, as ``scorecast deployments create``); this command keeps the server
CLI's settings, and exits as ``scorecast deployments create`` does: 1 when the API cannot be
reached or fails, 2 for a bad model or setting, 4 when there is no token or the API refuses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from scorecast.cli.groups import command_group
from scorecast.config import Settings
from scorecast.domain.model_description import parse_feature_names
from scorecast.domain.prediction_warnings import parse_prediction_range
from scorecast.errors import InvalidInput, ScorecastError

if TYPE_CHECKING:
    import scorecast_client

app = command_group(help="Register models as deployments.")

#: exit codes besides the CLI's 2 (see docs/reference/cli.md)
EXIT_FAILED = 1
EXIT_AUTH = 4


@app.command("create")
def create(
    model_path: Annotated[
        Path, typer.Argument(metavar="MODEL_PATH", help="the model file (e.g. model.onnx)")
    ],
    *,
    target: Annotated[
        str, typer.Option("--target", metavar="COLUMN", help="name of the target column")
    ],
    target_type: Annotated[
        str, typer.Option("--target-type", metavar="TYPE", help="regression, binary or multiclass")
    ],
    positive_class: Annotated[
        str | None,
        typer.Option("--positive-class", metavar="LABEL", help="binary: the positive label"),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", metavar="NAME", help="the deployment's name")
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help="register a pickle/joblib/MLflow model (they run code when loaded; only on "
            "a server whose operator allows them, for the roles it names)",
        ),
    ] = False,
    feature_names: Annotated[
        str | None,
        typer.Option(
            "--feature-names",
            metavar="A,B,C",
            help="input column names a,b,c in the model's order, for a model that does not "
            "record them (an ONNX model with one matrix input)",
        ),
    ] = None,
    prediction_range: Annotated[
        str | None,
        typer.Option(
            "--prediction-range",
            metavar="LOW,HIGH",
            help="regression: LOW,HIGH, the range outside which predictions are flagged "
            "IS_OUTLIER_PREDICTION (the deployment's default prediction warning range)",
        ),
    ] = None,
) -> None:
    """Upload MODEL_PATH and print the new deployment's id."""
    import scorecast_client

    settings = Settings.from_env()
    try:
        endpoint = scorecast_client.normalize_endpoint(settings.endpoint, "SCORECAST_ENDPOINT")
    except scorecast_client.ConfigurationError as exc:
        raise InvalidInput(exc.message, {"SCORECAST_ENDPOINT": "is not an http(s) URL"}) from None
    if not settings.token:
        _fail("set SCORECAST_TOKEN to an API token (scorecast token create prints one)", EXIT_AUTH)
    if not model_path.exists():
        raise InvalidInput.at("MODEL_PATH", f"{model_path} does not exist")
    try:
        with scorecast_client.Client(endpoint, settings.token) as client:
            body = client.deployments.register(
                model_path,
                target=target,
                target_type=target_type,
                positive_class=positive_class,
                label=label,
                trust_pickle=trust_pickle,
                feature_names=parse_feature_names(feature_names) if feature_names else None,
                prediction_range=parse_prediction_range(prediction_range)
                if prediction_range
                else None,
            )
    except scorecast_client.ScorecastError as exc:
        _fail_for(exc)
    typer.echo(f"Registered {model_path.name} as deployment {body['label']!r}:", err=True)
    typer.echo(body["id"])


def _fail_for(exc: scorecast_client.ScorecastError) -> NoReturn:
    """Ends the command with the exit code of ``exc``: 2 (through ScorecastError) for a model
    the API finds invalid, 4 for a token it refuses, 1 for an API that fails or is away."""
    import scorecast_client

    if isinstance(exc, scorecast_client.Invalid):
        raise ScorecastError(
            f"the API refused the model ({exc.status_code}): {exc.message}", exc.errors
        ) from None
    if isinstance(exc, scorecast_client.Unauthorized | scorecast_client.Forbidden):
        _fail(f"the API refused the token ({exc.status_code}): {exc.message}", EXIT_AUTH)
    if isinstance(exc, scorecast_client.APIError):
        _fail(f"the API did not register the model ({exc.status_code}): {exc.message}")
    _fail(f"{exc.message}; is `scorecast serve` running and SCORECAST_ENDPOINT right?")


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """``error: message`` on standard error, then exit ``code`` (SystemExit: the CLI's ``run``
    turns a ScorecastError into exit 2, whatever this command's documented code)."""
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(code)
