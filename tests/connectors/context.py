"""How a worker builds a ``ConnectorContext``: plain lookups over what the job may use.

Tests (and the kill-test child process) build one from plain dicts with ``make_context``; the
service's worker does the same with callables that read the store within the job's
organization and decrypt the credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext
from scorecast.errors import ConnectorError


def make_context(
    settings: Settings,
    credentials: Mapping[str, Mapping[str, Any]] | None = None,
    data_stores: Mapping[str, Mapping[str, Any]] | None = None,
    datasets: Mapping[str, str] | None = None,
) -> ConnectorContext:
    credentials = credentials or {}
    data_stores = data_stores or {}
    datasets = datasets or {}

    def credential(credential_id: str) -> Mapping[str, Any]:
        if credential_id not in credentials:
            raise ConnectorError(f"credential {credential_id!r} no longer exists")
        return credentials[credential_id]

    def data_store(store_id: str) -> Mapping[str, Any]:
        if store_id not in data_stores:
            raise ConnectorError(f"data store {store_id!r} no longer exists")
        return data_stores[store_id]

    def dataset_path(dataset_id: str, version: str | None) -> Path:
        key = f"{dataset_id}/{version}" if version else dataset_id
        if key not in datasets:
            raise ConnectorError(f"dataset {key!r} no longer exists")
        return Path(datasets[key])

    return ConnectorContext(
        credential=credential,
        data_store=data_store,
        dataset_path=dataset_path,
        app_settings=settings,
    )


def settings_for(home: Path, root: Path, *, allow_private: bool = True) -> Settings:
    return Settings(
        home=home,
        database_url=f"sqlite:///{home / 'store.db'}",
        file_roots=(root.resolve(),),
        allow_private_endpoints=allow_private,
        allow_local_databases=True,
    )
