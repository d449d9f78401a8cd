"""``AsyncClient`` deployments, credentials, data stores and datasets, awaited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from scorecast_client._catalog import (
    CREDENTIALS,
    DATA_STORES,
    DATASET_UPLOAD_PATH,
    DATASETS,
    DEPLOYMENTS,
    REGISTER_PATH,
    dataset_form,
    model_file,
    register_form,
    upload_file,
)
from scorecast_client._models import CredentialData, DatasetData, DataStoreData, DeploymentData
from scorecast_client._pages import aiterate
from scorecast_client._transport import TRANSFER_TIMEOUT, AsyncTransport


class AsyncDeployments:
    """``Client.deployments`` for asyncio."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def get(self, deployment_id: str) -> DeploymentData:
        return await self._t.call(DEPLOYMENTS.get(deployment_id))

    async def delete(self, deployment_id: str) -> None:
        await self._t.call(DEPLOYMENTS.delete(deployment_id))

    async def register(
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
        """``Deployments.register``: upload a model file (a folder is sent as a zip archive)."""
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
            deployment: DeploymentData = await self._t.json(
                "POST",
                REGISTER_PATH,
                keys=DEPLOYMENTS.keys,
                data=form,
                files=files,
                timeout=TRANSFER_TIMEOUT,
            )
        return deployment

    async def list(self, *, search: str | None = None) -> AsyncIterator[DeploymentData]:
        async for item in aiterate(self._t, DEPLOYMENTS.listing(search=search)):
            yield item


class AsyncCredentials:
    """``Client.credentials`` for asyncio (the server never sends a secret back)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def get(self, credential_id: str) -> CredentialData:
        return await self._t.call(CREDENTIALS.get(credential_id))

    async def delete(self, credential_id: str) -> None:
        await self._t.call(CREDENTIALS.delete(credential_id))

    async def list(self) -> AsyncIterator[CredentialData]:
        async for item in aiterate(self._t, CREDENTIALS.listing()):
            yield item

    async def create(self, body: Mapping[str, Any]) -> CredentialData:
        """``{"name", "credentialType": basic|s3|azure|gcp, ...the secret fields}``."""
        return await self._t.call(CREDENTIALS.create(body))


class AsyncDataStores:
    """``Client.data_stores`` for asyncio."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def get(self, data_store_id: str) -> DataStoreData:
        return await self._t.call(DATA_STORES.get(data_store_id))

    async def delete(self, data_store_id: str) -> None:
        await self._t.call(DATA_STORES.delete(data_store_id))

    async def list(self) -> AsyncIterator[DataStoreData]:
        async for item in aiterate(self._t, DATA_STORES.listing()):
            yield item

    async def create(self, body: Mapping[str, Any]) -> DataStoreData:
        """``{"type": "jdbc", "canonicalName": ..., "params": {"jdbcUrl": ...}}``."""
        return await self._t.call(DATA_STORES.create(body))


class AsyncDatasets:
    """``Client.datasets`` for asyncio."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def get(self, dataset_id: str) -> DatasetData:
        return await self._t.call(DATASETS.get(dataset_id))

    async def delete(self, dataset_id: str) -> None:
        await self._t.call(DATASETS.delete(dataset_id))

    async def list(self) -> AsyncIterator[DatasetData]:
        async for item in aiterate(self._t, DATASETS.listing()):
            yield item

    async def upload(self, path: str | Path, *, name: str | None = None) -> DatasetData:
        """Store the file as a new dataset and return it (the upload is done on return)."""
        with upload_file(Path(path)) as files:
            answer = await self._t.json(
                "POST",
                DATASET_UPLOAD_PATH,
                keys=("catalogId",),
                files=files,
                data=dataset_form(name),
                timeout=TRANSFER_TIMEOUT,
            )
        return await self.get(str(answer["catalogId"]))
