"""``filesystem``: ``file:///…`` URLs under the folders listed in ``SCORECAST_FILE_ROOTS``.

Settings: ``url`` (required), ``format`` (``csv`` or ``parquet``, default csv). The output is
written to a hidden temporary file in the target folder and renamed over the target on commit
(atomic on one file system); abort deletes the temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, CsvSettings, FileFormat, Intake, Output
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.fileio import EncodedOutput, FileIntake, file_format
from scorecast.connectors.safety import UnsafeLocationError, file_url_path
from scorecast.errors import ConnectorError


def validate(settings: Mapping[str, Any], side: Side, app: Settings) -> dict[str, Any]:
    checks = Checks(settings, ("url", "format"))
    url = checks.string("url", required=True)
    checks.file_format()
    if url is not None:
        if not app.file_roots:
            checks.problem("url", "this server has no file roots (set SCORECAST_FILE_ROOTS)")
        else:
            checks.location("url", file_url_path, url, app.file_roots)
    return checks.done()


def _path(settings: Mapping[str, Any], ctx: ConnectorContext) -> Path:
    try:
        return file_url_path(str(settings["url"]), ctx.settings.file_roots)
    except UnsafeLocationError as exc:
        raise ConnectorError(f"{settings['url']}: {exc}") from exc


def open_intake(
    settings: Mapping[str, Any], ctx: ConnectorContext, csv_settings: CsvSettings
) -> Intake:
    path = _path(settings, ctx)

    def open_stream() -> BinaryIO:
        try:
            return path.open("rb")
        except OSError as exc:
            raise ConnectorError(f"{settings['url']}: cannot open: {exc.strerror}") from exc

    def size_of() -> int:
        try:
            return path.stat().st_size
        except OSError as exc:
            raise ConnectorError(f"{settings['url']}: {exc.strerror}") from exc

    return FileIntake(
        str(settings["url"]), open_stream, file_format(settings), csv_settings, size_of
    )


class FileOutput(EncodedOutput):
    """Temporary file in the target folder, renamed over ``path`` on commit."""

    def __init__(self, url: str, path: Path, fmt: FileFormat, csv: CsvSettings) -> None:
        super().__init__(url, fmt, csv)
        self.path = path
        self._staging: Path | None = None
        self._handle: BinaryIO | None = None

    def _open_sink(self) -> BinaryIO:
        if not self.path.parent.is_dir():
            raise ConnectorError(f"{self.location}: the folder does not exist")
        try:
            fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        except OSError as exc:
            raise ConnectorError(f"{self.location}: cannot write: {exc.strerror}") from exc
        self._staging = Path(name)
        self._handle = os.fdopen(fd, "wb")
        return self._handle

    def _finish(self) -> None:
        assert self._handle is not None and self._staging is not None
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.chmod(self._staging, 0o644)
        try:
            os.replace(self._staging, self.path)
        except OSError as exc:
            raise ConnectorError(f"{self.location}: cannot write: {exc.strerror}") from exc

    def _discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._staging is not None:
            self._staging.unlink(missing_ok=True)


def open_output(
    settings: Mapping[str, Any], ctx: ConnectorContext, csv_settings: CsvSettings
) -> Output:
    path = _path(settings, ctx)
    return FileOutput(str(settings["url"]), path, file_format(settings), csv_settings)
