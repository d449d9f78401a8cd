"""The CLI against what it should not trust: text from the server (markup, terminal escapes),
secret files that do not parse, tokens with stray characters, endpoints that are not the API,
option values that are no numbers, and profiles that do not fit."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from scorecast_client import Profile
from scorecast_client._settings import save_profile
from sdk_server import (
    DEMO_DATA,
    Server,
    assert_clean_failure,
    file_spec,
    http_server,
    run_cli,
    silent_server,
)

pytestmark = pytest.mark.e2e

#: a name any member of an organization could give: rich markup and an OSC escape sequence
#: (sets the window title; OSC 52 writes the clipboard on many terminals)
HOSTILE = "nightly [/] [link=https://evil.example]click[/link] \x1b]0;PWNED\x07 \x9b2J"


def _server_root(server: Server) -> str:
    return server.endpoint.removesuffix("/api/v2")


def test_a_secret_file_is_json_first_and_a_parse_error_never_quotes_it(
    server: Server, config_dir: Path, tmp_path: Path
) -> None:
    tabbed = tmp_path / "tabbed.json"
    tabbed.write_text('{"user": "bob",\t"password": "Tab5ecretPW"}\n')  # jq --tab writes this
    made = run_cli(
        "credentials", "create", "tabbed", "--type", "basic", "-f", str(tabbed), "-q",
        server=server, config=config_dir,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    run_cli("credentials", "delete", made.stdout.strip(), server=server, config=config_dir)
    for text, line in (
        ('user: bob\npassword: "Hunter2SuperSecret\\q"\n', 2),
        ('{"user": "bob", "password": "Hunter2SuperSecret" oops}\n', 1),
    ):
        refused = run_cli(
            "credentials", "create", "x", "--type", "basic", "-f", "-",
            server=server, config=config_dir, input_text=text,
        )  # fmt: skip
        assert_clean_failure(refused, 2)
        assert "Hunter2" not in refused.stderr
        assert f"line {line}, column" in refused.stderr


def test_server_text_is_shown_as_it_is(server: Server, deployment: str, config_dir: Path) -> None:
    spec = {**file_spec(server, deployment, "in.csv", "out.csv"), "name": HOSTILE}
    with server.client() as client:
        definition = client.definitions.create({**spec, "enabled": False})
        credential = client.credentials.create(
            {"name": HOSTILE, "credentialType": "basic", "user": "u", "password": "p"}
        )
    try:
        shown = "nightly [/] [link=https://evil.example]click[/link] \\x1b]0;PWNED\\x07 \\x9b2J"
        for args in (
            ("definitions", "list"),
            ("definitions", "show", definition["id"]),
            ("credentials", "list"),
        ):
            result = run_cli(*args, server=server, config=config_dir)
            assert result.returncode == 0, result.stderr
            assert shown in result.stdout, result.stdout
            assert "\x1b" not in result.stdout and "\x9b" not in result.stdout
        missing = run_cli("jobs", "show", "\x1b]0;PWNED\x07", server=server, config=config_dir)
        assert_clean_failure(missing, 3)
        assert "\x1b" not in missing.stderr and "\x07" not in missing.stderr
    finally:
        with server.client() as client:
            client.definitions.delete(definition["id"])
            client.credentials.delete(credential["credentialId"])


def test_a_token_with_a_trailing_newline_works_and_a_broken_one_is_never_shown(
    server: Server, config_dir: Path
) -> None:
    stray = run_cli(
        "jobs", "list", "-q", server=server, token=server.token + "\n", config=config_dir
    )
    assert stray.returncode == 0, stray.stderr
    broken = server.token[:10] + "\x01" + server.token[10:]
    refused = run_cli("jobs", "list", server=server, token=broken, config=config_dir)
    assert_clean_failure(refused, 4)
    assert server.token[:10] not in refused.stderr
    assert "SCORECAST_TOKEN" in refused.stderr


class _HtmlNotFound(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!DOCTYPE HTML>\n<html><body>Not Found</body></html>\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_endpoint_that_is_not_the_api_exits_1(server: Server, config_dir: Path) -> None:
    root = {"SCORECAST_ENDPOINT": _server_root(server), "SCORECAST_TOKEN": server.token}
    wrong_path = run_cli("jobs", "list", config=config_dir, env=root)
    assert_clean_failure(wrong_path, 1)
    assert "/api/v2" in wrong_path.stderr
    with http_server(_HtmlNotFound) as other:
        foreign = {"SCORECAST_ENDPOINT": other + "/api/v2", "SCORECAST_TOKEN": "t"}
        html = run_cli("jobs", "show", "65f0c0ffee0000000000abcd", config=config_dir, env=foreign)
    assert_clean_failure(html, 1)
    assert "404" in html.stderr and "DOCTYPE" not in html.stderr


def test_login_to_what_is_not_the_api_saves_nothing(server: Server, config_dir: Path) -> None:
    refused = run_cli(
        "login", "--endpoint", _server_root(server), "--profile", "broken",
        config=config_dir, input_text="definitely-not-a-token\n",
    )  # fmt: skip
    assert_clean_failure(refused, 1)
    assert "/api/v2" in refused.stderr
    assert not (config_dir / "profiles.json").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_float_options_must_be_finite(config_dir: Path, value: str) -> None:
    for args, option in (
        (("jobs", "watch", "65f0c0ffee0000000000abcd", "--timeout", value), "--timeout"),
        (("score", "d", str(DEMO_DATA), "-o", "x.csv", "--threshold", value), "--threshold"),
        (("score", "d", str(DEMO_DATA), "-o", "x.csv", "--timeout", value), "--timeout"),
    ):
        result = run_cli(*args, config=config_dir)
        assert result.returncode == 2, (args, result.stderr)
        assert option in result.stderr and "Traceback" not in result.stderr


def test_score_checks_the_output_folder_before_it_submits(
    server: Server, deployment: str, config_dir: Path, tmp_path: Path
) -> None:
    with server.client() as client:
        before = sum(1 for _ in client.jobs.list(deployment_id=deployment))
    target = str(tmp_path / "missing" / "scored.csv")
    result = run_cli(
        "score", deployment, str(DEMO_DATA), "-o", target, server=server, config=config_dir
    )
    assert_clean_failure(result, 2)
    assert target in result.stderr and ".part" not in result.stderr
    with server.client() as client:
        assert sum(1 for _ in client.jobs.list(deployment_id=deployment)) == before


class _Capture(BaseHTTPRequestHandler):
    """Records the Authorization header of every request (a host a token must not reach)."""

    seen: list[str | None] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        body = b'{"count":0,"totalCount":0,"next":null,"previous":null,"data":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_profiles_fit_their_endpoint_and_exit_as_documented(
    server: Server, config_dir: Path, tmp_path: Path
) -> None:
    env = {"SCORECAST_CONFIG_DIR": str(config_dir)}
    save_profile("prod", Profile(server.endpoint, server.token), make_default=True, env=env)
    _Capture.seen = []
    with http_server(_Capture) as other:
        elsewhere = run_cli(
            "jobs", "list", config=config_dir, env={"SCORECAST_ENDPOINT": other + "/api/v2"}
        )
    assert_clean_failure(elsewhere, 4)
    assert _Capture.seen == [] and server.token not in elsewhere.stderr
    assert "SCORECAST_TOKEN" in elsewhere.stderr

    unknown = run_cli("jobs", "list", "--profile", "NOPE", server=server, config=config_dir)
    assert_clean_failure(unknown, 4)
    assert "NOPE" in unknown.stderr

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "profiles.json").write_text('{"profiles": {"p": {"token": "s3cret')
    unreadable = run_cli("jobs", "list", config=damaged)
    assert_clean_failure(unreadable, 2)
    assert "profiles.json" in unreadable.stderr and "s3cret" not in unreadable.stderr


def test_jobs_list_shows_the_status_asked_for(
    server: Server, deployment: str, config_dir: Path
) -> None:
    with server.client() as client:
        failing = client.jobs.create_local(deployment, passthroughColumns=["no_such_column"])
        client.jobs.upload(failing, DEMO_DATA)
        client.jobs.abort(client.jobs.create_local(deployment).id)
    watched = run_cli("jobs", "watch", failing.id, "-q", server=server, config=config_dir)
    assert watched.returncode == 1
    listed = run_cli(
        "jobs", "list", "--status", "aborted", "--json", "--limit", "100",
        server=server, config=config_dir,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    assert jobs and {job["status"] for job in jobs} == {"ABORTED"}
    assert failing.id not in {job["id"] for job in jobs}


def test_jobs_watch_is_bounded_by_its_timeout_when_the_server_stops_answering(
    config_dir: Path,
) -> None:
    with silent_server() as silent:
        started = time.monotonic()
        result = run_cli(
            "jobs", "watch", "65f0c0ffee0000000000abcd", "--timeout", "2", config=config_dir,
            env={"SCORECAST_ENDPOINT": silent, "SCORECAST_TOKEN": "t"},
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert_clean_failure(result, 1)
    assert "no answer" in result.stderr
    assert elapsed < 30  # far below the 5 tries of 60 s each of an unbounded read
