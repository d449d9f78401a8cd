"""``SCORECAST_FORWARDED_ALLOW_IPS``: behind a TLS-terminating proxy the links of every answer
use the scheme the proxy reports (``X-Forwarded-Proto``), when the proxy is one the operator
trusts. Before, only a proxy on 127.0.0.1 was believed and the setting did not exist: behind a
load balancer on another machine every ``links.csvUpload``, ``Location`` and ``next`` said
``http://``, and the datarobot client PUT its upload in clear text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from serving import ServeProcess, register_demo_model

pytestmark = pytest.mark.e2e

LOCAL = {"intakeSettings": {"type": "localFile"}, "outputSettings": {"type": "localFile"}}
HTTPS = {"X-Forwarded-Proto": "https", "Host": "scoring.example.com"}


def _links(server: ServeProcess, deployment: str) -> list[str]:
    with server.http() as http:
        created = http.post(
            "batchPredictions/", json={"deploymentId": deployment, **LOCAL}, headers=HTTPS
        )
        assert created.status_code == 202, created.text
        page = http.get("batchPredictions/", params={"limit": 1}, headers=HTTPS).json()
    return [
        created.headers["location"],
        created.json()["links"]["self"],
        created.json()["links"]["csvUpload"],
        page["next"] or "",
    ]


def test_a_trusted_proxy_makes_every_link_https_an_untrusted_one_does_not(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'store.db'}"
    server = ServeProcess(home, url, "--roles", "api").start()  # trusts 127.0.0.1 by default
    token = server.token
    try:
        deployment = register_demo_model(server)
        _links(server, deployment)  # a second job, so the page of one has a next link
        links = _links(server, deployment)
    finally:
        server.stop()
    assert all(link.startswith("https://scoring.example.com/api/v2/") for link in links), links

    untrusting = {"SCORECAST_FORWARDED_ALLOW_IPS": "10.9.9.9, 192.0.2.0/24"}
    server = ServeProcess(home, url, "--roles", "api", env=untrusting).start()
    server.token = token  # printed on the first start only
    try:
        links = _links(server, deployment)
    finally:
        server.stop()
    assert all(link.startswith("http://scoring.example.com/api/v2/") for link in links), links


def test_a_bad_proxy_list_stops_serve_with_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SCORECAST_HOME": str(tmp_path / "home"),
        "SCORECAST_FORWARDED_ALLOW_IPS": "10.0.0.1,proxy.example.com",
    }
    result = subprocess.run(
        [sys.executable, "-m", "scorecast", "serve", "--port", "0"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SCORECAST_FORWARDED_ALLOW_IPS" in result.stderr, result.stderr
    assert "'proxy.example.com' is neither" in result.stderr
    assert "Traceback" not in result.stderr
