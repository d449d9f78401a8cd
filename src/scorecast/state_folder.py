"""The state folder (``$SCORECAST_HOME``) and everything in it are the service user's alone.

Uploads, results, model artifacts, datasets, the SQLite store (with its ``-wal``/``-shm``
files) and ``secret.key`` hold other people's data and the credential key, so
``make_owner_only`` gives the process the umask ``OWNER_ONLY_UMASK`` before anything is
created: every folder is then created 0700 and every file 0600, by the service and by its job
and inspection processes, which inherit the umask (``child_process`` sets it again in each
child for services embedded without ``scorecast serve``). A state folder that already exists
with wider rights (from an older version) is narrowed to 0700, which also closes every file
created in it before.

Files the service writes outside the state folder, under ``SCORECAST_FILE_ROOTS``, are the
exception: the ``filesystem`` connector gives its results 0644 on purpose (other programs read
them).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from scorecast.errors import InvalidInput

log = logging.getLogger("scorecast")

#: no rights for the group and others on anything the process creates
OWNER_ONLY_UMASK = 0o077


def make_owner_only(home: Path) -> None:
    """Set the process umask to ``OWNER_ONLY_UMASK`` and make sure ``home`` exists, 0700;
    ``InvalidInput`` naming ``SCORECAST_HOME`` when it cannot be a folder."""
    os.umask(OWNER_ONLY_UMASK)
    make_folder(home, "SCORECAST_HOME")
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o077:
        try:
            os.chmod(home, mode & 0o700)
        except OSError as exc:  # not ours to change: say so, the service still runs
            log.warning("cannot make the state folder %s owner-only: %s", home, exc)
        else:
            log.info("the state folder %s was %o; it is now %o", home, mode, mode & 0o700)


def make_folder(folder: Path, setting: str) -> None:
    """Create ``folder`` (0700 under the umask above) unless it exists; ``InvalidInput`` naming
    ``setting`` and the folder when a file is in the way or it cannot be created."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidInput(f"{setting}: {folder} is not a folder") from None
    except OSError as exc:
        raise InvalidInput(
            f"{setting}: cannot create the folder {folder}: {exc.strerror}"
        ) from None
