"""``filesystem``: ``file:///…`` URLs under the folders listed in ``SCORECAST_FILE_ROOTS``.

Settings: ``url`` (required), ``format`` (``csv`` or ``parquet``, default csv). The output is
written to a hidden temporary file in the target folder and renamed over the target on commit
(atomic on one file system); abort deletes the temporary file. The staging file carries the
job's mark (``commit_marks``) as the extended attribute ``user.scorecast.commit`` before the
rename, so the committed file has it; on a file system without user extended attributes a retry
cannot tell and writes the file again (the rename replaces it whole, so it is never doubled).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake, Output, OutputToken
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.commit_marks import committed_by, mark_of
from scorecast.connectors.fileio import EncodedOutput, FileIntake, file_format
from scorecast.connectors.safety import UnsafeLocationError, file_url_path
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.errors import ConnectorError


def validate(config: Mapping[str, Any], side: Side, app_settings: Settings) -> dict[str, Any]:
    checks = Checks(config, ("url", "format"))
    url = checks.string("url", required=True)
    checks.file_format()
    if url is not None:
        if not app_settings.file_roots:
            checks.problem("url", "this server has no file roots (set SCORECAST_FILE_ROOTS)")
        else:
            checks.location("url", file_url_path, url, app_settings.file_roots)
    return checks.done()


def _path(config: Mapping[str, Any], ctx: ConnectorContext) -> Path:
    try:
        return file_url_path(str(config["url"]), ctx.app_settings.file_roots)
    except UnsafeLocationError as exc:
        raise ConnectorError(f"{config['url']}: {exc}") from exc


def open_intake(intake: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Intake:
    path = _path(intake, ctx)

    def open_stream() -> BinaryIO:
        try:
            return path.open("rb")
        except OSError as exc:
            raise ConnectorError(f"{intake['url']}: cannot open: {exc.strerror}") from exc

    def size_of() -> int:
        try:
            return path.stat().st_size
        except OSError as exc:
            raise ConnectorError(f"{intake['url']}: {exc.strerror}") from exc

    return FileIntake(str(intake["url"]), open_stream, file_format(intake), csv, size_of)


#: the extended attribute holding the committing job's mark (JSON)
MARK_ATTRIBUTE = "user.scorecast.commit"
#: staging files are ``.<target>.scorecast-<job id>.<attempt>.<random>.part`` next to the
#: target, so that a retry and the periodic sweep (``runtime.debris_sweep``) can tell whose
#: they are
STAGING_MARK = ".scorecast-"
STAGING_SUFFIX = ".part"
_STAGING_NAME = re.compile(
    r"^\..+"
    + re.escape(STAGING_MARK)
    + r"(?P<job>[A-Za-z0-9_-]+)\.(?P<attempt>\d+)\.[^.]*"
    + re.escape(STAGING_SUFFIX)
    + r"\Z",
    re.DOTALL,  # a file name may hold any character but "/"
)


def staging_prefix(path: Path, token: OutputToken | None, attempt: int | None = None) -> str:
    """The start of the staging files' names of ``token``'s job (of one attempt if given)."""
    job = token.job_id if token else "none"
    return f".{path.name}{STAGING_MARK}{job}." + (f"{attempt}." if attempt is not None else "")


def staging_owner(file_name: str) -> OutputToken | None:
    """The job and attempt whose staging file ``file_name`` is, None for any other file."""
    found = _STAGING_NAME.match(file_name)
    if found is None or found["job"] == "none":
        return None
    return OutputToken(found["job"], int(found["attempt"]))


class FileOutput(EncodedOutput):
    """Temporary file in the target folder, renamed over ``path`` on commit."""

    def __init__(
        self,
        url: str,
        path: Path,
        fmt: FileFormat,
        csv: CsvSettings,
        token: OutputToken | None = None,
    ) -> None:
        super().__init__(url, fmt, csv)
        self.path = path
        self._token = token
        self._staging: Path | None = None
        self._handle: BinaryIO | None = None

    def remove_debris(self) -> None:
        """Delete the staging files earlier attempts of this job left next to the target."""
        if self._token is None:
            return
        pattern = staging_prefix(self.path, self._token) + "*" + STAGING_SUFFIX
        for stale in self.path.parent.glob(pattern):
            if stale != self._staging:
                stale.unlink(missing_ok=True)

    def committed_before(self) -> str | None:
        try:
            raw = os.getxattr(self.path, MARK_ATTRIBUTE)
            modified = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
            mark = json.loads(raw)
        except (OSError, ValueError, RecursionError):  # no file, no (valid) mark, or no xattrs
            return None
        return committed_by(mark if isinstance(mark, dict) else None, self._token, modified)

    def _open_sink(self) -> BinaryIO:
        if not self.path.parent.is_dir():
            raise ConnectorError(f"{self.location}: the folder does not exist")
        try:
            attempt = self._token.attempt if self._token else 0
            fd, name = tempfile.mkstemp(
                prefix=staging_prefix(self.path, self._token, attempt),
                suffix=STAGING_SUFFIX,
                dir=self.path.parent,
            )
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
        if self._token is not None:
            mark = json.dumps(mark_of(self._token)).encode()
            # no user extended attributes on this file system: a retry rewrites the file
            with contextlib.suppress(OSError):
                os.setxattr(self._staging, MARK_ATTRIBUTE, mark)
        try:
            os.replace(self._staging, self.path)
        except OSError as exc:
            raise ConnectorError(f"{self.location}: cannot write: {exc.strerror}") from exc

    def _discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._staging is not None:
            self._staging.unlink(missing_ok=True)


def open_output(output: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Output:
    path = _path(output, ctx)
    return FileOutput(str(output["url"]), path, file_format(output), csv, ctx.output_token)
