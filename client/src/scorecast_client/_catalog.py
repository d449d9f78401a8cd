"""Deployments, credentials, data stores and datasets: the objects jobs refer to."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from scorecast_client._calls import Collection
from scorecast_client._models import CredentialData, DatasetData, DataStoreData, DeploymentData
from scorecast_client._pages import iterate
from scorecast_client._transport import TRANSFER_TIMEOUT, SyncTransport

DEPLOYMENTS: Collection[DeploymentData] = Collection("deployments/", keys=("id", "label"))
CREDENTIALS: Collection[CredentialData] = Collection("credentials/", keys=("credentialId",))
DATA_STORES: Collection[DataStoreData] = Collection("externalDataStores/", keys=("id",))
DATASETS: Collection[DatasetData] = Collection("datasets/", keys=("datasetId",))

#: where a model file is uploaded (multipart form, see ``register_form``)
REGISTER_PATH = "deployments/fromModelFile/"
#: where a dataset file is uploaded (multipart; the answer holds the new ``catalogId``)
DATASET_UPLOAD_PATH = "datasets/fromFile/"


class Deployments:
    """``client.deployments``: registered models."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def register(
        self,
        model_path: str | Path,
        *,
        target: str,
        target_type: str,
        positive_class: str | None = None,
        label: str | None = None,
        trust_pickle: bool = False,
        feature_names: Sequence[str] | None = None,
        prediction_range: tuple[float, float] | None = None,
    ) -> DeploymentData:
        """Upload a model file (a folder, e.g. an MLflow model, is sent as a zip archive).

        ``target_type`` is ``regression``, ``binary`` or ``multiclass``; ``trust_pickle`` asks
        the server to load pickle/joblib files, which it does only if its operator allows it.
        ``feature_names`` name the columns of a model that does not record them (an ONNX model
        with one matrix input); ``prediction_range`` (regression) is the range outside which
        predictions are flagged ``IS_OUTLIER_PREDICTION``.
        """
        path = Path(model_path)
        form = register_form(
            path,
            target=target,
            target_type=target_type,
            positive_class=positive_class,
            label=label,
            trust_pickle=trust_pickle,
            feature_names=feature_names,
            prediction_range=prediction_range,
        )
        with model_file(path) as files:
            body = self._t.json(
                "POST",
                REGISTER_PATH,
                keys=DEPLOYMENTS.keys,
                data=form,
                files=files,
                timeout=TRANSFER_TIMEOUT,
            )
        return cast(DeploymentData, body)

    def list(self, *, search: str | None = None) -> Iterator[DeploymentData]:
        """Every deployment of the organization (all pages)."""
        return iterate(self._t, DEPLOYMENTS.listing(search=search))

    def get(self, deployment_id: str) -> DeploymentData:
        return self._t.call(DEPLOYMENTS.get(deployment_id))

    def delete(self, deployment_id: str) -> None:
        self._t.call(DEPLOYMENTS.delete(deployment_id))


class Credentials:
    """``client.credentials``: secrets for connectors; the server never sends a secret back."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, body: Mapping[str, Any]) -> CredentialData:
        """``{"name", "credentialType": basic|s3|azure|gcp, ...the secret fields}``."""
        return self._t.call(CREDENTIALS.create(body))

    def list(self) -> Iterator[CredentialData]:
        return iterate(self._t, CREDENTIALS.listing())

    def get(self, credential_id: str) -> CredentialData:
        return self._t.call(CREDENTIALS.get(credential_id))

    def delete(self, credential_id: str) -> None:
        self._t.call(CREDENTIALS.delete(credential_id))


class DataStores:
    """``client.data_stores``: database addresses for the jdbc connector."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, body: Mapping[str, Any]) -> DataStoreData:
        """``{"type": "jdbc", "canonicalName": ..., "params": {"jdbcUrl": ...}}``."""
        return self._t.call(DATA_STORES.create(body))

    def list(self) -> Iterator[DataStoreData]:
        return iterate(self._t, DATA_STORES.listing())

    def get(self, data_store_id: str) -> DataStoreData:
        return self._t.call(DATA_STORES.get(data_store_id))

    def delete(self, data_store_id: str) -> None:
        self._t.call(DATA_STORES.delete(data_store_id))


class Datasets:
    """``client.datasets``: uploaded CSV or Parquet files that jobs can read."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def upload(self, path: str | Path, *, name: str | None = None) -> DatasetData:
        """Store the file as a new dataset and return it (the upload is done on return)."""
        with upload_file(Path(path)) as files:
            answer = self._t.json(
                "POST",
                DATASET_UPLOAD_PATH,
                keys=("catalogId",),
                files=files,
                data=dataset_form(name),
                timeout=TRANSFER_TIMEOUT,
            )
        return self.get(str(answer["catalogId"]))

    def list(self) -> Iterator[DatasetData]:
        return iterate(self._t, DATASETS.listing())

    def get(self, dataset_id: str) -> DatasetData:
        return self._t.call(DATASETS.get(dataset_id))

    def delete(self, dataset_id: str) -> None:
        self._t.call(DATASETS.delete(dataset_id))


def register_form(
    path: Path,
    *,
    target: str,
    target_type: str,
    positive_class: str | None,
    label: str | None,
    trust_pickle: bool,
    feature_names: Sequence[str] | None = None,
    prediction_range: tuple[float, float] | None = None,
) -> dict[str, str]:
    """The form fields of ``Deployments.register`` (FileNotFoundError if there is no model).
    The label defaults to the model's name, that of ``.`` being its folder's."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    form = {
        "targetName": target,
        "targetType": target_type,
        "trustPickle": "true" if trust_pickle else "false",
        "label": label or path.resolve().stem or "model",
    }
    if positive_class is not None:
        form["positiveClass"] = positive_class
    if feature_names is not None:
        form["featureNames"] = ",".join(feature_names)
    if prediction_range is not None:
        low, high = prediction_range
        form["predictionRange"] = f"{low!r},{high!r}"
    return form


def dataset_form(name: str | None) -> dict[str, str] | None:
    return {"datasetName": name} if name else None


Files = dict[str, tuple[str, IO[bytes], str]]


@contextmanager
def upload_file(path: Path) -> Iterator[Files]:
    """The multipart ``file`` field of a file upload, open while inside."""
    with path.open("rb") as handle:
        yield {"file": (path.name, handle, "application/octet-stream")}


@contextmanager
def model_file(path: Path) -> Iterator[Files]:
    """``upload_file`` of a model file, or of a zip archive of a model folder. The archive is
    made in a private temporary folder (mode 0700), removed on leaving however it is left."""
    with (
        tempfile.TemporaryDirectory(prefix="scorecast-model-") as scratch,
        upload_file(model_upload(path, Path(scratch))) as files,
    ):
        yield files


def model_upload(path: Path, scratch: Path) -> Path:
    """The file to send: the model file itself, or a zip archive (mode 0600) in ``scratch`` of
    a model folder, named after it (``.`` too: the path is resolved first)."""
    if not path.is_dir():
        return path
    resolved = path.resolve()
    archive = Path(shutil.make_archive(str(scratch / (resolved.name or "model")), "zip", resolved))
    archive.chmod(0o600)
    return archive
