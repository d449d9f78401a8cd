"""Child process of the kill test: opens an output, writes until ``bytes`` are staged, says
``ready`` on stdout and waits to be killed with SIGKILL (no commit, no abort, no cleanup)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))

from context import make_context

from scorecast.config import Settings
from scorecast.connectors.registry import open_output


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    os.environ.update(spec["env"])
    raw = spec["settings"]
    settings = Settings(
        home=Path(raw["home"]),
        database_url="sqlite://",
        file_roots=tuple(Path(p) for p in raw["file_roots"]),
        allow_private_endpoints=True,
        allow_local_databases=True,
    )
    ctx = make_context(settings, spec["credentials"], spec["data_stores"])
    ctx.template = spec["template"]  # the job id and attempt, for localFile
    output = open_output(spec["output"], ctx)
    rows = 20_000
    start = 0
    while output.bytes_written < spec["bytes"]:
        batch = pa.record_batch(
            {
                "id": pa.array(range(start, start + rows), pa.int64()),
                "score": pa.array([0.5] * rows, pa.float64()),
                "label": pa.array(["x" * 40] * rows, pa.string()),
            }
        )
        output.write(batch)
        start += rows
    print("ready", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
