"""``dataset``: a file stored in scorecast, by ``datasetId`` and optional ``datasetVersionId``.

The service resolves the stored file's storage key through ``ctx.dataset_path(id, version)``
(latest version when ``datasetVersionId`` is absent); it must lie under ``datasets/``
(``home_layout``). The file is read by ranges from the storage (``connectors.storage``). The
format is the key's: ``.parquet`` / ``.pq`` is Parquet, anything else CSV. Intake only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake, Output
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.fileio import ranged_intake
from scorecast.connectors.storage import StorageError, open_storage
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.errors import ConnectorError, ScorecastError, UnsupportedFeature


def validate(config: Mapping[str, Any], side: Side, app_settings: Settings) -> dict[str, Any]:
    checks = Checks(config, ("datasetId", "datasetVersionId"))
    checks.string("datasetId", required=True)
    checks.string("datasetVersionId")
    return checks.done()


def open_intake(intake: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Intake:
    dataset_id = str(intake["datasetId"])
    version = intake.get("datasetVersionId")
    location = f"dataset {dataset_id}" + (f" version {version}" if version else "")
    try:
        key = str(ctx.dataset_path(dataset_id, version))
    except ScorecastError as exc:
        raise ConnectorError(f"{location}: {exc.message}") from exc
    if not key.startswith(f"{home_layout.DATASETS}/"):
        raise ConnectorError(f"{location}: the stored file is not in the datasets' storage")
    store = open_storage(ctx.app_settings)
    if store.size(key) is None:
        raise ConnectorError(f"{location}: the stored file is missing")

    def size_of() -> int:
        size = store.size(key)
        if size is None:
            raise ConnectorError(f"{location}: the stored file is missing")
        return size

    def open_from(start: int) -> BinaryIO:
        try:
            return store.open_from(key, start)
        except StorageError as exc:
            raise ConnectorError(f"{location}: cannot open: {exc.message}") from exc

    fmt: FileFormat = "parquet" if key.endswith((".parquet", ".pq")) else "csv"
    return ranged_intake(location, {"format": fmt}, csv, size_of, open_from=open_from)


def open_output(output: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Output:
    """Intake only: the registry offers ``dataset`` on the intake side alone."""
    raise UnsupportedFeature("output type 'dataset' is not supported by this server")
