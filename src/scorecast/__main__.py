"""``python -m scorecast``: the ``scorecast`` command without the console script on ``PATH``."""

from __future__ import annotations

from scorecast.cli.main import run

if __name__ == "__main__":
    run()
