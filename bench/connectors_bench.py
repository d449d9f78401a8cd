"""Throughput of the s3 and filesystem connectors against plain library baselines.

Usage: ``python bench/connectors_bench.py [--mb 200]``. Starts ``moto_server`` on a free local
port, stores a generated CSV of about ``--mb`` MB, and prints MB/s (median of three runs) for:

- read: the s3 intake's CSV blocks of 8 MB (ranged GETs, cut at line ends) against boto3
  streaming the object with ``get_object()["Body"].iter_chunks``; the filesystem intake against
  reading the file in 8 MB pieces;
- write: the s3 output (CSV encode + multipart upload + commit) of the decoded batches against
  ``pyarrow.csv.write_csv`` into memory + boto3 ``upload_fileobj``.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.csv as pacsv

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext
from scorecast.connectors.registry import open_intake, open_output
from scorecast.formats import decode_csv_block
from scorecast.formats.chunks import CsvBlock

CHUNK = 8 << 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _csv(megabytes: int) -> bytes:
    lines = b"".join(b"%d,%d.25,label %d for the benchmark\n" % (i, i, i) for i in range(100_000))
    body = lines * max(1, (megabytes << 20) // len(lines))
    return b"id,score,label\n" + body


def _rate(size: int, action: Callable[[], object]) -> float:
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return size / (1 << 20) / statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    moto = shutil.which("moto_server")
    if moto is None:
        raise SystemExit("moto_server is not installed (pip install 'moto[server]')")
    port = _free_port()
    server = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with tempfile.TemporaryDirectory() as folder:
        try:
            _run(args.mb, f"http://127.0.0.1:{port}", Path(folder))
        finally:
            server.terminate()
            server.wait()


def _run(megabytes: int, endpoint: str, folder: Path) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    keys = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
    client.create_bucket(Bucket="bench")
    data = _csv(megabytes)
    client.put_object(Bucket="bench", Key="in.csv", Body=data)
    (folder / "in.csv").write_bytes(data)
    settings = Settings(
        home=folder,
        database_url="sqlite://",
        file_roots=(folder.resolve(),),
        allow_private_endpoints=True,
    )
    credential = {"awsAccessKeyId": "bench", "awsSecretAccessKey": "bench"}
    ctx = ConnectorContext(
        credential=lambda _id: credential,
        data_store=lambda _id: {},
        dataset_path=lambda _id, _v: None,
        app_settings=settings,
    )

    def s3(key: str) -> dict[str, object]:
        return {
            "type": "s3",
            "url": f"s3://bench/{key}",
            "endpointUrl": endpoint,
            "credentialId": "c",
        }

    def intake_read(adapter: dict[str, object]) -> None:
        intake = open_intake(adapter, ctx)
        for _chunk in intake.chunks(CHUNK):
            pass
        intake.close()

    def boto_read() -> None:
        for _piece in client.get_object(Bucket="bench", Key="in.csv")["Body"].iter_chunks(CHUNK):
            pass

    def file_read() -> None:
        with (folder / "in.csv").open("rb") as handle:
            while handle.read(CHUNK):
                pass

    intake = open_intake(s3("in.csv"), ctx)
    batches = [decode_csv_block(c) if isinstance(c, CsvBlock) else c for c in intake.chunks(CHUNK)]
    intake.close()
    table = pa.Table.from_batches(batches)

    def output_write() -> None:
        output = open_output(s3("out.csv"), ctx)
        for batch in batches:
            output.write(batch)
        output.commit()

    def boto_write() -> None:
        sink = io.BytesIO()
        pacsv.write_csv(table, sink)
        sink.seek(0)
        client.upload_fileobj(sink, "bench", "base.csv")

    size = len(data)
    file_uri = (folder / "in.csv").resolve().as_uri()
    rows = [
        ("read  s3 intake (8 MB CSV blocks)", _rate(size, lambda: intake_read(s3("in.csv")))),
        ("read  boto3 get_object iter_chunks", _rate(size, boto_read)),
        (
            "read  filesystem intake",
            _rate(size, lambda: intake_read({"type": "filesystem", "url": file_uri})),
        ),
        ("read  plain file reads", _rate(size, file_read)),
        ("write s3 output (encode + multipart)", _rate(size, output_write)),
        ("write pyarrow write_csv + upload_fileobj", _rate(size, boto_write)),
    ]
    print(f"{size / (1 << 20):.0f} MB CSV, moto server on localhost")
    for label, rate in rows:
        print(f"  {label:<42} {rate:8.1f} MB/s")


if __name__ == "__main__":
    main()
