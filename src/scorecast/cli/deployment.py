"""``scorecast deployment create``: register a model file through the API.

Talks to ``SCORECAST_ENDPOINT`` (default ``http://127.0.0.1:8080/api/v2``) with
``SCORECAST_TOKEN``; prints the new deployment's id alone on the last line of standard output.
A model directory (MLflow) is sent as a zip archive.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from scorecast.cli.groups import command_group
from scorecast.config import Settings
from scorecast.domain.model_description import parse_feature_names
from scorecast.domain.prediction_warnings import parse_prediction_range
from scorecast.errors import InvalidInput, ScorecastError

app = command_group(help="Register models as deployments.")

#: seconds (an upload of a large model may take minutes); connect, read, write, pool
UPLOAD_TIMEOUT = (10.0, 600.0, 600.0, 10.0)


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
            help="input column names a,b,c in the model's order, for a model that does not "
            "record them (an ONNX model with one matrix input)",
        ),
    ] = None,
    prediction_range: Annotated[
        str | None,
        typer.Option(
            "--prediction-range",
            help="regression: LOW,HIGH, the range outside which predictions are flagged "
            "IS_OUTLIER_PREDICTION (the deployment's default prediction warning range)",
        ),
    ] = None,
) -> None:
    """Upload MODEL_PATH and print the new deployment's id."""
    settings = Settings.from_env()
    if not settings.token:
        raise InvalidInput(
            "set SCORECAST_TOKEN to an API token (scorecast token create prints one)",
            {"SCORECAST_TOKEN": "is not set"},
        )
    if not model_path.exists():
        raise InvalidInput.at("MODEL_PATH", f"{model_path} does not exist")
    form = {"targetName": target, "targetType": target_type, "trustPickle": str(trust_pickle)}
    if positive_class is not None:
        form["positiveClass"] = positive_class
    if feature_names is not None:
        form["featureNames"] = ",".join(parse_feature_names(feature_names))
    if prediction_range is not None:
        low, high = parse_prediction_range(prediction_range)
        form["predictionRange"] = f"{low!r},{high!r}"
    form["label"] = label or model_path.stem
    with tempfile.TemporaryDirectory() as scratch:
        upload = _as_file(model_path, Path(scratch))
        body = _post(settings, upload, form)
    typer.echo(f"Registered {model_path.name} as deployment {body['label']!r}:", err=True)
    typer.echo(body["id"])


def _as_file(model_path: Path, scratch: Path) -> Path:
    if model_path.is_dir():
        archive = shutil.make_archive(str(scratch / model_path.name), "zip", model_path)
        return Path(archive)
    return model_path


def _post(settings: Settings, upload: Path, form: dict[str, str]) -> dict[str, Any]:
    import httpx  # here: `scorecast serve` builds this CLI too, and httpx brings rich along

    connect, read, write, pool = UPLOAD_TIMEOUT
    url = settings.endpoint.rstrip("/") + "/deployments/fromModelFile/"
    headers = {"Authorization": f"Token {settings.token}"}
    try:
        with upload.open("rb") as handle:
            response = httpx.post(
                url,
                headers=headers,
                data=form,
                files={"file": (upload.name, handle, "application/octet-stream")},
                timeout=httpx.Timeout(connect=connect, read=read, write=write, pool=pool),
            )
    except httpx.HTTPError as exc:
        raise ScorecastError(
            f"cannot reach the scorecast API at {settings.endpoint} ({type(exc).__name__}); "
            "is `scorecast serve` running and SCORECAST_ENDPOINT right?"
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400 or not isinstance(body, dict) or "id" not in body:
        message = body.get("message") if isinstance(body, dict) else None
        raise ScorecastError(
            f"the API refused the model ({response.status_code}): {message or response.text[:300]}",
            body.get("errors", {}) if isinstance(body, dict) else {},
        )
    return body
