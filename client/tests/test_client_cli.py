"""Every client command of ``scorecast`` against a real ``scorecast serve``, in human and
``--json`` form, with the documented exit codes and never a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from sdk_server import (
    DEMO_DATA,
    DEMO_MODEL,
    Server,
    assert_clean_failure,
    file_spec,
    run_cli,
    scorecast_command,
)

pytestmark = pytest.mark.e2e


def test_login_checks_the_token_and_saves_a_private_profile(
    server: Server, config_dir: Path
) -> None:
    refused = run_cli(
        "login",
        "--endpoint",
        server.endpoint,
        "--profile",
        "bad",
        config=config_dir,
        input_text="wrong-token\n",
    )
    assert_clean_failure(refused, 4)
    assert not (config_dir / "profiles.json").exists()

    saved = run_cli(
        "login",
        "--endpoint",
        server.endpoint,
        "--profile",
        "local",
        config=config_dir,
        input_text=server.token + "\n",
    )
    assert saved.returncode == 0, saved.stderr
    profile_file = config_dir / "profiles.json"
    assert stat.S_IMODE(profile_file.stat().st_mode) == 0o600
    assert json.loads(profile_file.read_text())["default"] == "local"
    assert server.token not in saved.stdout + saved.stderr

    # no SCORECAST_ENDPOINT/TOKEN in the environment: the profile is used
    listed = run_cli("deployments", "list", "--json", config=config_dir)
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    named = run_cli("jobs", "list", "--quiet", "--profile", "local", config=config_dir)
    assert named.returncode == 0, named.stderr
    unknown = run_cli("jobs", "list", "--profile", "nope", config=config_dir)
    assert_clean_failure(unknown, 4)


def test_score_shows_progress_and_matches_the_official_client(
    server: Server, deployment: str, config_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "cli.csv"
    result = run_cli(
        "score", deployment, str(DEMO_DATA), "-o", str(target), server=server, config=config_dir
    )
    assert result.returncode == 0, result.stderr
    assert "COMPLETED 100%" in result.stderr
    assert "500 rows scored" in result.stderr
    datarobot = pytest.importorskip("datarobot")
    datarobot.Client(endpoint=server.endpoint, token=server.token)
    official = tmp_path / "official.csv"
    datarobot.BatchPredictionJob.score_to_file(deployment, str(DEMO_DATA), str(official))
    assert target.read_bytes() == official.read_bytes()


def test_score_from_stdin_to_stdout_and_as_json(
    server: Server, deployment: str, config_dir: Path, tmp_path: Path
) -> None:
    piped = run_cli(
        "score",
        deployment,
        "-",
        "--passthrough",
        "patient_id",
        "--quiet",
        server=server,
        config=config_dir,
        input_text=DEMO_DATA.read_text(),
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.splitlines()[0].startswith('"patient_id"')
    assert len(piped.stdout.splitlines()) == 501
    assert piped.stderr == ""
    as_json = run_cli(
        "score",
        deployment,
        str(DEMO_DATA),
        "-o",
        str(tmp_path / "s.csv"),
        "--json",
        server=server,
        config=config_dir,
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["status"] == "COMPLETED"


def test_score_of_a_bad_file_fails_with_the_servers_reason(
    server: Server, deployment: str, config_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("nothing,the,model,knows\n1,2,3,4\n")
    target = tmp_path / "never.csv"
    result = run_cli(
        "score", deployment, str(bad), "-o", str(target), server=server, config=config_dir
    )
    assert_clean_failure(result, 1)
    assert "ABORTED" in result.stderr or "FAILED" in result.stderr
    assert not target.exists()
    missing = run_cli(
        "score", deployment, str(tmp_path / "absent.csv"), server=server, config=config_dir
    )
    assert_clean_failure(missing, 2)


def test_jobs_commands(server: Server, deployment: str, config_dir: Path, tmp_path: Path) -> None:
    scored = run_cli(
        "score",
        deployment,
        str(DEMO_DATA),
        "-o",
        str(tmp_path / "a.csv"),
        "--quiet",
        server=server,
        config=config_dir,
    )
    job_id = scored.stdout.strip()
    assert scored.returncode == 0 and job_id, scored.stderr

    human = run_cli("jobs", "list", server=server, config=config_dir)
    assert human.returncode == 0 and job_id in human.stdout and "STATUS" in human.stdout
    as_json = run_cli(
        "jobs",
        "list",
        "--status",
        "completed",
        "--json",
        "--limit",
        "500",
        server=server,
        config=config_dir,
    )
    assert job_id in [job["id"] for job in json.loads(as_json.stdout)]
    quiet = run_cli("jobs", "list", "--quiet", "--limit", "1", server=server, config=config_dir)
    assert len(quiet.stdout.split()) == 1

    shown = run_cli("jobs", "show", job_id, server=server, config=config_dir)
    assert shown.returncode == 0 and "COMPLETED" in shown.stdout and deployment in shown.stdout
    shown_json = run_cli("jobs", "show", job_id, "--json", server=server, config=config_dir)
    assert json.loads(shown_json.stdout)["id"] == job_id

    watched = run_cli("jobs", "watch", job_id, server=server, config=config_dir)
    assert watched.returncode == 0 and f"{job_id}: COMPLETED" in watched.stderr
    watched_json = run_cli("jobs", "watch", job_id, "--json", server=server, config=config_dir)
    assert json.loads(watched_json.stdout)[0]["status"] == "COMPLETED"

    logs = run_cli("jobs", "logs", job_id, server=server, config=config_dir)
    assert logs.returncode == 0 and logs.stdout.strip()
    logs_json = run_cli("jobs", "logs", job_id, "--json", server=server, config=config_dir)
    assert json.loads(logs_json.stdout) == logs.stdout.splitlines()
    followed = run_cli("jobs", "logs", job_id, "--follow", server=server, config=config_dir)
    assert followed.stdout == logs.stdout

    target = tmp_path / "again.csv"
    downloaded = run_cli(
        "jobs", "download", job_id, "-o", str(target), server=server, config=config_dir
    )
    assert downloaded.returncode == 0, downloaded.stderr
    assert target.read_bytes() == (tmp_path / "a.csv").read_bytes()

    ended = run_cli("jobs", "abort", job_id, server=server, config=config_dir)
    assert_clean_failure(ended, 1)  # 409: the job already ended


def test_abort_and_watch_of_an_aborted_job(
    server: Server, deployment: str, config_dir: Path
) -> None:
    from scorecast_client import Client

    with Client(server.endpoint, server.token) as client:
        waiting = client.jobs.create_local(deployment).id  # waits for an upload
    aborted = run_cli("jobs", "abort", waiting, "--json", server=server, config=config_dir)
    assert aborted.returncode == 0, aborted.stderr
    assert json.loads(aborted.stdout)["status"] == "ABORTED"
    watched = run_cli("jobs", "watch", waiting, server=server, config=config_dir)
    assert_clean_failure(watched, 1)
    assert "ABORTED" in watched.stderr


def test_definitions_commands(
    server: Server, deployment: str, config_dir: Path, tmp_path: Path
) -> None:
    shutil.copy(DEMO_DATA, server.files / "cli-in.csv")
    spec = {**file_spec(server, deployment, "cli-in.csv", "cli-out.csv"), "name": "cli nightly"}
    spec_file = tmp_path / "nightly.yaml"
    import yaml

    spec_file.write_text(yaml.safe_dump(spec))
    created = run_cli(
        "definitions",
        "create",
        "-f",
        str(spec_file),
        "--run",
        "--wait",
        "--json",
        server=server,
        config=config_dir,
    )
    assert created.returncode == 0, created.stderr
    job = json.loads(created.stdout)
    assert job["status"] == "COMPLETED"
    assert len((server.files / "cli-out.csv").read_text().splitlines()) == 501
    definition_id = job["batchPredictionJobDefinition"]["id"]

    listed = run_cli("definitions", "list", server=server, config=config_dir)
    assert "cli nightly" in listed.stdout and "ENABLED" in listed.stdout
    listed_json = run_cli("definitions", "list", "--json", server=server, config=config_dir)
    assert definition_id in [item["id"] for item in json.loads(listed_json.stdout)]
    quiet = run_cli(
        "definitions", "list", "--search", "cli night", "--quiet", server=server, config=config_dir
    )
    assert quiet.stdout.split() == [definition_id]

    by_name = run_cli("definitions", "show", "cli nightly", server=server, config=config_dir)
    assert by_name.returncode == 0 and definition_id in by_name.stdout
    by_id = run_cli(
        "definitions", "show", definition_id, "--json", server=server, config=config_dir
    )
    assert json.loads(by_id.stdout)["name"] == "cli nightly"

    change = tmp_path / "change.json"
    change.write_text(json.dumps({"name": "cli renamed"}))
    updated = run_cli(
        "definitions",
        "update",
        definition_id,
        "-f",
        str(change),
        "--json",
        server=server,
        config=config_dir,
    )
    assert json.loads(updated.stdout)["name"] == "cli renamed"
    no_schedule = run_cli("definitions", "enable", definition_id, server=server, config=config_dir)
    assert_clean_failure(no_schedule, 1)  # 422: enabling needs a schedule
    assert "schedule" in no_schedule.stderr
    disabled = run_cli(
        "definitions", "disable", definition_id, "--json", server=server, config=config_dir
    )
    assert json.loads(disabled.stdout)["enabled"] is False

    ran = run_cli("definitions", "run", definition_id, "--wait", server=server, config=config_dir)
    assert ran.returncode == 0, ran.stderr
    assert "COMPLETED" in ran.stdout and "COMPLETED 100%" in ran.stderr
    fires_jobs = run_cli(
        "jobs", "list", "--definition", definition_id, "--quiet", server=server, config=config_dir
    )
    assert len(fires_jobs.stdout.split()) == 2

    no_fires = run_cli("definitions", "fires", definition_id, server=server, config=config_dir)
    assert no_fires.returncode == 0 and "OUTCOME" in no_fires.stdout  # never scheduled: empty
    no_preview = run_cli(
        "definitions", "preview", "cli renamed", "--json", server=server, config=config_dir
    )
    assert json.loads(no_preview.stdout)["fires"] == []

    deleted = run_cli("definitions", "delete", definition_id, server=server, config=config_dir)
    assert deleted.returncode == 0, deleted.stderr
    gone = run_cli("definitions", "show", definition_id, server=server, config=config_dir)
    assert_clean_failure(gone, 3)


def test_a_failing_run_with_wait_exits_1_with_the_reason(
    server: Server, deployment: str, config_dir: Path, tmp_path: Path
) -> None:
    spec_file = tmp_path / "broken.json"
    spec_file.write_text(json.dumps(file_spec(server, deployment, "absent.csv", "x.csv")))
    result = run_cli(
        "definitions",
        "create",
        "-f",
        str(spec_file),
        "--run",
        "--wait",
        server=server,
        config=config_dir,
    )
    assert_clean_failure(result, 1)
    assert "FAILED" in result.stderr and "absent.csv" in result.stderr


@pytest.mark.parametrize(
    ("content", "suffix"), [("{not json", ".json"), ("a: [b", ".yaml"), ("[1, 2]", ".json")]
)
def test_a_bad_definition_file_is_a_usage_error(
    server: Server, config_dir: Path, tmp_path: Path, content: str, suffix: str
) -> None:
    spec_file = tmp_path / f"bad{suffix}"
    spec_file.write_text(content)
    result = run_cli(
        "definitions", "create", "-f", str(spec_file), server=server, config=config_dir
    )
    assert_clean_failure(result, 2)


def test_deployments_commands(server: Server, config_dir: Path) -> None:
    created = run_cli(
        "deployments",
        "create",
        str(DEMO_MODEL),
        "--target",
        "readmitted",
        "--target-type",
        "binary",
        "--positive-class",
        "yes",
        "--label",
        "cli-model",
        "--quiet",
        server=server,
        config=config_dir,
    )
    assert created.returncode == 0, created.stderr
    deployment_id = created.stdout.strip()
    listed = run_cli("deployments", "list", server=server, config=config_dir)
    assert deployment_id in listed.stdout and "cli-model" in listed.stdout
    as_json = run_cli("deployments", "list", "--json", server=server, config=config_dir)
    assert deployment_id in [item["id"] for item in json.loads(as_json.stdout)]
    shown = run_cli("deployments", "show", deployment_id, server=server, config=config_dir)
    assert "readmitted" in shown.stdout
    shown_json = run_cli(
        "deployments", "show", deployment_id, "--json", server=server, config=config_dir
    )
    assert json.loads(shown_json.stdout)["label"] == "cli-model"
    deleted = run_cli("deployments", "delete", deployment_id, server=server, config=config_dir)
    assert deleted.returncode == 0, deleted.stderr
    assert_clean_failure(
        run_cli("deployments", "show", deployment_id, server=server, config=config_dir), 3
    )
    missing = run_cli(
        "deployments",
        "create",
        "absent.onnx",
        "--target",
        "y",
        "--target-type",
        "regression",
        server=server,
        config=config_dir,
    )
    assert_clean_failure(missing, 2)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["jobs", "show", "no-such-job"], 3),
        (["jobs", "abort", "no-such-job"], 3),
        (["jobs", "download", "no-such-job", "-o", "x.csv"], 3),
        (["definitions", "show", "no-such-definition"], 3),
        (["deployments", "delete", "no-such-deployment"], 3),
        (["jobs", "list", "--limit", "0"], 2),
        (["jobs", "list", "--no-such-flag"], 2),
    ],
)
def test_failures_have_their_exit_code_and_no_traceback(
    server: Server, config_dir: Path, args: list[str], code: int
) -> None:
    result = run_cli(*args, server=server, config=config_dir)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


def test_a_wrong_token_exits_4(server: Server, config_dir: Path) -> None:
    result = run_cli("jobs", "list", server=server, token="wrong", config=config_dir)
    assert_clean_failure(result, 4)


def test_no_token_at_all_exits_4(config_dir: Path) -> None:
    result = run_cli("jobs", "list", config=config_dir)
    assert_clean_failure(result, 4)
    assert "scorecast login" in result.stderr


def test_an_unreachable_server_exits_1(config_dir: Path, refused_port: int) -> None:
    endpoint = f"http://127.0.0.1:{refused_port}/api/v2"
    result = run_cli(
        "jobs",
        "list",
        config=config_dir,
        env={"SCORECAST_ENDPOINT": endpoint, "SCORECAST_TOKEN": "t"},
    )
    assert_clean_failure(result, 1)
    assert "cannot reach" in result.stderr


def test_an_id_is_never_read_as_a_path(server: Server, config_dir: Path) -> None:
    with server.client() as client:
        kept = client.deployments.register(
            DEMO_MODEL, target="readmitted", target_type="binary", positive_class="yes"
        )["id"]
    escaped = run_cli("jobs", "abort", f"../deployments/{kept}", server=server, config=config_dir)
    assert_clean_failure(escaped, 2)
    assert "not an id" in escaped.stderr
    for args in (
        ["jobs", "abort", f"%2E%2E%2Fdeployments%2F{kept}"],
        ["deployments", "delete", "."],
        ["deployments", "delete", ".."],
    ):
        assert_clean_failure(run_cli(*args, server=server, config=config_dir), 3)
    with server.client() as client:
        assert client.deployments.get(kept)["id"] == kept
    for args in (["jobs", "show", "#"], ["definitions", "show", "#"], ["jobs", "show", "?x"]):
        result = run_cli(*args, server=server, config=config_dir)
        assert_clean_failure(result, 3)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:abc/api/v2", "http://[::1"])
def test_an_endpoint_that_is_not_a_url_exits_2_naming_the_setting(
    config_dir: Path, endpoint: str
) -> None:
    env = {"SCORECAST_ENDPOINT": endpoint, "SCORECAST_TOKEN": "t"}
    listed = run_cli("jobs", "list", config=config_dir, env=env)
    assert_clean_failure(listed, 2)
    assert "SCORECAST_ENDPOINT" in listed.stderr
    logged = run_cli(
        "login", "--endpoint", endpoint, "--token", "t", config=config_dir, input_text=""
    )
    assert_clean_failure(logged, 2)
    assert "--endpoint" in logged.stderr
    assert not (config_dir / "profiles.json").exists()


def test_an_upper_case_scheme_is_accepted(server: Server, config_dir: Path) -> None:
    endpoint = "HTTP://" + server.endpoint.removeprefix("http://")
    listed = run_cli(
        "deployments", "list", "--json", server=server, config=config_dir,
        env={"SCORECAST_ENDPOINT": endpoint},
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)


@pytest.mark.parametrize("output", [[], ["--quiet"], ["--json"]])
def test_a_closed_stdout_ends_the_command_quietly(
    server: Server, deployment: str, config_dir: Path, output: list[str]
) -> None:
    """As with ``| head -1`` once head has exited: exit 141, as a shell shows a command ended
    by SIGPIPE, and nothing on stderr."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCORECAST_")}
    env.update(
        SCORECAST_CONFIG_DIR=str(config_dir),
        SCORECAST_ENDPOINT=server.endpoint,
        SCORECAST_TOKEN=server.token,
    )
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [*scorecast_command(), "deployments", "list", *output],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(writer)
    assert (result.returncode, result.stderr) == (141, "")


def test_no_color_and_no_terminal_mean_plain_text(server: Server, config_dir: Path) -> None:
    result = run_cli("deployments", "list", server=server, config=config_dir, env={"NO_COLOR": "1"})
    assert result.returncode == 0
    assert "\x1b[" not in result.stdout


def _on_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Runs ``scorecast ARGS`` with stdout and stderr on a pseudo-terminal; code and output."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*scorecast_command(), *args], stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # read while the command runs: a full pty would block it
        with contextlib.suppress(OSError):  # EIO once the command closed its end
            while chunk := os.read(master, 65536):
                chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    code = process.wait(timeout=300)
    reader.join(timeout=60)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("no_color", [False, True])
def test_on_a_terminal_a_progress_bar_and_colours_unless_no_color(
    server: Server, deployment: str, config_dir: Path, tmp_path: Path, no_color: bool
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCORECAST_")}
    env.pop("NO_COLOR", None)
    env.update(
        SCORECAST_ENDPOINT=server.endpoint,
        SCORECAST_TOKEN=server.token,
        SCORECAST_CONFIG_DIR=str(config_dir),
        TERM="xterm-256color",
        COLUMNS="120",
    )
    if no_color:
        env["NO_COLOR"] = "1"
    code, shown = _on_terminal(
        ["score", deployment, str(DEMO_DATA), "-o", str(tmp_path / "tty.csv")], env
    )
    assert code == 0, shown
    assert "━" in shown  # the bar
    assert "COMPLETED 100%, 500 rows scored, 0 failed" in shown
    code, table = _on_terminal(["jobs", "list", "--limit", "3"], env)
    assert code == 0, table
    # a foreground colour (30-37, 90-97, 38;…); bold is not a colour and stays
    colour = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[0-9;]+)m")
    assert bool(colour.search(shown + table)) is not no_color


def test_credentials_commands_take_secrets_from_a_file_or_stdin_only(
    server: Server, config_dir: Path, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps({"user": "scott", "password": "pw-from-file"}))
    from_file = run_cli(
        "credentials", "create", "cli-db", "--type", "basic", "-f", str(secret_file), "--json",
        server=server, config=config_dir,
    )  # fmt: skip
    assert from_file.returncode == 0, from_file.stderr
    made = json.loads(from_file.stdout)
    assert "pw-from-file" not in from_file.stdout + from_file.stderr
    from_stdin = run_cli(
        "credentials", "create", "cli-db-2", "--type", "basic", "-f", "-", "--quiet",
        server=server, config=config_dir, input_text="user: scott\npassword: pw-stdin\n",
    )  # fmt: skip
    assert from_stdin.returncode == 0, from_stdin.stderr
    second = from_stdin.stdout.strip()

    listed = run_cli("credentials", "list", server=server, config=config_dir)
    assert "cli-db" in listed.stdout and "basic" in listed.stdout
    assert "pw-" not in listed.stdout
    as_json = run_cli("credentials", "list", "--json", server=server, config=config_dir)
    assert {made["credentialId"], second} <= {c["credentialId"] for c in json.loads(as_json.stdout)}
    for ident in (made["credentialId"], second):
        deleted = run_cli("credentials", "delete", ident, server=server, config=config_dir)
        assert deleted.returncode == 0, deleted.stderr
    assert_clean_failure(
        run_cli("credentials", "delete", second, server=server, config=config_dir), 3
    )

    no_secret = run_cli(
        "credentials",
        "create",
        "x",
        "--type",
        "basic",
        server=server,
        config=config_dir,
        input_text="",
    )
    assert_clean_failure(no_secret, 2)  # stdin is not a terminal: no prompt, no secret on argv
    incomplete = run_cli(
        "credentials",
        "create",
        "x",
        "--type",
        "basic",
        "-f",
        "-",
        server=server,
        config=config_dir,
        input_text='{"user": "u"}',
    )
    assert_clean_failure(incomplete, 1)  # 422 from the server
    assert "password" in incomplete.stderr
    bad_type = run_cli(
        "credentials",
        "create",
        "x",
        "--type",
        "ftp",
        "-f",
        str(secret_file),
        server=server,
        config=config_dir,
    )
    assert_clean_failure(bad_type, 2)


def test_datasets_commands(server: Server, config_dir: Path) -> None:
    uploaded = run_cli(
        "datasets",
        "upload",
        str(DEMO_DATA),
        "--name",
        "cli patients",
        "--quiet",
        server=server,
        config=config_dir,
    )
    assert uploaded.returncode == 0, uploaded.stderr
    dataset_id = uploaded.stdout.strip()
    listed = run_cli("datasets", "list", server=server, config=config_dir)
    assert dataset_id in listed.stdout and "cli patients" in listed.stdout
    as_json = run_cli("datasets", "list", "--json", server=server, config=config_dir)
    found = {d["datasetId"]: d for d in json.loads(as_json.stdout)}
    assert found[dataset_id]["rowCount"] == 500
    deleted = run_cli("datasets", "delete", dataset_id, server=server, config=config_dir)
    assert deleted.returncode == 0, deleted.stderr
    assert_clean_failure(
        run_cli("datasets", "delete", dataset_id, server=server, config=config_dir), 3
    )
    assert_clean_failure(
        run_cli("datasets", "upload", "absent.csv", server=server, config=config_dir), 2
    )


def test_score_of_a_million_rows_equals_the_official_clients_bytes(
    server: Server, deployment: str, config_dir: Path, tmp_path: Path
) -> None:
    """The issue's check at full size: 1,000,000 rows through ``scorecast score`` and through
    the official client's ``score_to_file`` give the same bytes. (What the progress display
    shows while a job runs is tested on its own, in test_cli_progress.)"""
    datarobot = pytest.importorskip("datarobot")
    header, *rows = DEMO_DATA.read_bytes().splitlines(keepends=True)
    big = tmp_path / "million.csv"
    with big.open("wb") as stream:
        stream.write(header)
        for _ in range(1_000_000 // len(rows)):
            stream.writelines(rows)
    target = tmp_path / "cli.csv"
    result = run_cli(
        "score", deployment, str(big), "-o", str(target), server=server, config=config_dir
    )
    assert result.returncode == 0, result.stderr
    assert "COMPLETED 100%" in result.stderr
    assert "1,000,000 rows scored" in result.stderr
    datarobot.Client(endpoint=server.endpoint, token=server.token)
    official = tmp_path / "official.csv"
    datarobot.BatchPredictionJob.score_to_file(deployment, str(big), str(official))
    assert target.read_bytes() == official.read_bytes()
