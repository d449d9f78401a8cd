"""Deployments, credentials, data stores and datasets: the objects jobs refer to."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from scorecast_client._models import CredentialData, DatasetData, DataStoreData, DeploymentData
from scorecast_client._pages import compact, iterate
from scorecast_client._transport import TRANSFER_TIMEOUT, SyncTransport


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
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        form = register_form(
            path,
            target=target,
            target_type=target_type,
            positive_class=positive_class,
            label=label,
            trust_pickle=trust_pickle,
        )
        if feature_names is not None:
            form["featureNames"] = ",".join(feature_names)
        if prediction_range is not None:
            low, high = prediction_range
            form["predictionRange"] = f"{low!r},{high!r}"
        with tempfile.TemporaryDirectory() as scratch:
            upload = model_upload(path, Path(scratch))
            with upload.open("rb") as handle:
                files = {"file": (upload.name, handle, "application/octet-stream")}
                body = self._t.json(
                    "POST",
                    "deployments/fromModelFile/",
                    data=form,
                    files=files,
                    timeout=TRANSFER_TIMEOUT,
                )
        return cast(DeploymentData, body)

    def list(self, *, search: str | None = None) -> Iterator[DeploymentData]:
        """Every deployment of the organization (all pages)."""
        return iterate(self._t, "deployments/", compact(search=search))

    def get(self, deployment_id: str) -> DeploymentData:
        return cast(DeploymentData, self._t.json("GET", f"deployments/{deployment_id}/"))

    def delete(self, deployment_id: str) -> None:
        self._t.request("DELETE", f"deployments/{deployment_id}/")


class Credentials:
    """``client.credentials``: secrets for connectors; the server never sends a secret back."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, body: Mapping[str, Any]) -> CredentialData:
        """``{"name", "credentialType": basic|s3|azure|gcp, ...the secret fields}``."""
        return cast(CredentialData, self._t.json("POST", "credentials/", json=dict(body)))

    def list(self) -> Iterator[CredentialData]:
        return iterate(self._t, "credentials/", {})

    def get(self, credential_id: str) -> CredentialData:
        return cast(CredentialData, self._t.json("GET", f"credentials/{credential_id}/"))

    def delete(self, credential_id: str) -> None:
        self._t.request("DELETE", f"credentials/{credential_id}/")


class DataStores:
    """``client.data_stores``: database addresses for the jdbc connector."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def create(self, body: Mapping[str, Any]) -> DataStoreData:
        """``{"type": "jdbc", "canonicalName": ..., "params": {"jdbcUrl": ...}}``."""
        return cast(DataStoreData, self._t.json("POST", "externalDataStores/", json=dict(body)))

    def list(self) -> Iterator[DataStoreData]:
        return iterate(self._t, "externalDataStores/", {})

    def get(self, data_store_id: str) -> DataStoreData:
        return cast(DataStoreData, self._t.json("GET", f"externalDataStores/{data_store_id}/"))

    def delete(self, data_store_id: str) -> None:
        self._t.request("DELETE", f"externalDataStores/{data_store_id}/")


class Datasets:
    """``client.datasets``: uploaded CSV or Parquet files that jobs can read."""

    def __init__(self, transport: SyncTransport) -> None:
        self._t = transport

    def upload(self, path: str | Path, *, name: str | None = None) -> DatasetData:
        """Store the file as a new dataset and return it (the upload is done on return)."""
        source = Path(path)
        with source.open("rb") as handle:
            files = {"file": (source.name, handle, "application/octet-stream")}
            data = {"datasetName": name} if name else None
            answer = self._t.json(
                "POST", "datasets/fromFile/", files=files, data=data, timeout=TRANSFER_TIMEOUT
            )
        return self.get(str(answer["catalogId"]))

    def list(self) -> Iterator[DatasetData]:
        return iterate(self._t, "datasets/", {})

    def get(self, dataset_id: str) -> DatasetData:
        return cast(DatasetData, self._t.json("GET", f"datasets/{dataset_id}/"))

    def delete(self, dataset_id: str) -> None:
        self._t.request("DELETE", f"datasets/{dataset_id}/")


def register_form(
    path: Path,
    *,
    target: str,
    target_type: str,
    positive_class: str | None,
    label: str | None,
    trust_pickle: bool,
) -> dict[str, str]:
    form = {
        "targetName": target,
        "targetType": target_type,
        "trustPickle": "true" if trust_pickle else "false",
        "label": label or path.stem,
    }
    if positive_class is not None:
        form["positiveClass"] = positive_class
    return form


def model_upload(path: Path, scratch: Path) -> Path:
    """The file to send: the model file itself, or a zip archive of a model folder."""
    if path.is_dir():
        return Path(shutil.make_archive(str(scratch / path.name), "zip", path))
    return path
