"""API foundation speed: what authentication, a store query and encryption add to a request.

One real uvicorn serving ``create_app`` per store (SQLite, and PostgreSQL when it answers on
127.0.0.1:5432), one keep-alive HTTP client, N sequential requests of each kind:

- ``GET version/``: a token lookup, nothing else (the baseline of this run);
- ``GET credentials/{id}/``: token check (SHA-256 + one indexed lookup) and one row;
- ``GET credentials/?limit=100``: token check and a page of 100 rows;
- ``POST credentials/``: token check, Fernet encryption, one insert and commit.

Prints requests per second and each kind's cost relative to the baseline.

Usage: python bench/api_bench.py [--requests N]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from _serve import serve_in_thread

from scorecast.api.app import create_app
from scorecast.config import Settings
from scorecast.service.accounts import create_token
from scorecast.store.db import create_engine_for, migrate, session_scope

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
BENCH_DB = "scorecast_api_bench"


@contextmanager
def _server(settings: Settings) -> Iterator[tuple[str, str]]:
    migrate(settings.database_url)
    engine = create_engine_for(settings.database_url)
    with session_scope(engine) as session:
        token = create_token(session, "bench", "bench")
    try:
        with serve_in_thread(create_app(settings, engine)) as site:
            yield f"{site}/api/v2", token
    finally:
        engine.dispose()


def _rate(count: int, request: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    for _ in range(count):
        response = request()
        assert response.status_code < 300, response.text
    return count / (time.perf_counter() - started)


def _measure(name: str, settings: Settings, count: int) -> None:
    with _server(settings) as (url, token), httpx.Client() as client:
        headers = {"Authorization": f"Token {token}"}
        body = {"name": "c", "credentialType": "basic", "user": "u", "password": "p"}
        for _ in range(100):
            client.post(f"{url}/credentials/", json=body, headers=headers)
        one = client.get(f"{url}/credentials/", headers=headers).json()["data"][0]["credentialId"]
        rates = {
            "GET version/ (baseline)": _rate(
                count, lambda: client.get(f"{url}/version/", headers=headers)
            ),
            "GET credentials/{id}/": _rate(
                count, lambda: client.get(f"{url}/credentials/{one}/", headers=headers)
            ),
            "GET credentials/ (100 rows)": _rate(
                count, lambda: client.get(f"{url}/credentials/?limit=100", headers=headers)
            ),
            "POST credentials/": _rate(
                count, lambda: client.post(f"{url}/credentials/", json=body, headers=headers)
            ),
        }
    baseline = rates["GET version/ (baseline)"]
    print(f"\n{name}: {count} sequential requests each")
    for kind, rate in rates.items():
        print(f"  {kind:<30} {rate:8.0f} req/s  {1000 / rate:6.2f} ms  x{baseline / rate:4.1f}")


def _postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        sqlite = Settings(home=home / "sqlite", database_url=f"sqlite:///{home / 'bench.db'}")
        _measure("SQLite", sqlite, args.requests)
        if not _postgres_available():
            print("\nPostgreSQL: not reachable on 127.0.0.1:5432, skipped")
            return
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{BENCH_DB}"')
        try:
            url = POSTGRES_URL.format(database=BENCH_DB)
            _measure("PostgreSQL", Settings(home=home / "pg", database_url=url), args.requests)
        finally:
            with psycopg.connect(
                "host=127.0.0.1 user=postgres dbname=postgres", autocommit=True
            ) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
