"""``dataset``: a file stored in scorecast, by ``datasetId`` and optional ``datasetVersionId``.

The service resolves the stored file through ``ctx.dataset_path(id, version)`` (latest version
when ``datasetVersionId`` is absent); it must lie under ``settings.datasets_dir``. The format is
the file's: ``.parquet`` / ``.pq`` is Parquet, anything else CSV. Intake only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.fileio import FileIntake
from scorecast.connectors.safety import UnsafeLocationError, contained_path
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.errors import ConnectorError, ScorecastError

open_output = None


def validate(settings: Mapping[str, Any], side: Side, app: Settings) -> dict[str, Any]:
    checks = Checks(settings, ("datasetId", "datasetVersionId"))
    checks.string("datasetId", required=True)
    checks.string("datasetVersionId")
    return checks.done()


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def open_intake(
    settings: Mapping[str, Any], ctx: ConnectorContext, csv_settings: CsvSettings
) -> Intake:
    dataset_id = str(settings["datasetId"])
    version = settings.get("datasetVersionId")
    location = f"dataset {dataset_id}" + (f" version {version}" if version else "")
    try:
        raw = ctx.dataset_path(dataset_id, version)
    except ScorecastError as exc:
        raise ConnectorError(f"{location}: {exc.message}") from exc
    try:
        path = contained_path(Path(raw), [ctx.settings.datasets_dir])
    except UnsafeLocationError as exc:
        raise ConnectorError(f"{location}: the stored file {exc}") from exc
    if not path.is_file():
        raise ConnectorError(f"{location}: the stored file is missing")

    def open_stream() -> BinaryIO:
        try:
            return path.open("rb")
        except OSError as exc:
            raise ConnectorError(f"{location}: cannot open: {exc.strerror}") from exc

    fmt: FileFormat = "parquet" if _is_parquet(path) else "csv"
    return FileIntake(location, open_stream, fmt, csv_settings, lambda: path.stat().st_size)
