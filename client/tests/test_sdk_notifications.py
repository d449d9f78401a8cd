"""Notification channels and policies through the SDK and the ``scorecast notifications``
commands, against a real ``scorecast serve``: the secret goes in and never comes back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from scorecast_client import Invalid, NotFound
from sdk_server import Server, assert_clean_failure, run_cli

pytestmark = pytest.mark.e2e

HOOK = "https://hooks.example.com/scorecast"
SECRET = "whsec-sdk-Secret-Value"


def test_sdk_channels_policies_and_a_test_delivery(server: Server) -> None:
    with server.client() as client:
        channel = client.notification_channels.create(
            {
                "name": "sdk hook",
                "channelType": "Webhook",
                "payloadUrl": HOOK,
                "secretToken": SECRET,
            }
        )
        assert channel["hasSecretToken"] and SECRET not in json.dumps(channel)
        policy = client.notification_policies.create(
            {"name": "all", "channelId": channel["id"], "eventGroup": "batch_predictions.all"}
        )
        assert [p["id"] for p in client.notification_policies.list(channel_id=channel["id"])] == [
            policy["id"]
        ]
        renamed = client.notification_channels.update(channel["id"], {"name": "renamed"})
        assert renamed["name"] == "renamed" and renamed["policyCount"] == 1
        queued = client.notification_channels.test(channel["id"])
        listed = list(client.notification_channels.deliveries(channel["id"]))
        assert queued["id"] in {d["id"] for d in listed}
        with pytest.raises(Invalid):
            client.notification_policies.create(
                {"name": "x", "channelId": channel["id"], "eventType": "nope"}
            )
        client.notification_channels.delete(channel["id"])
        with pytest.raises(NotFound):
            client.notification_policies.get(policy["id"])


def test_cli_notifications_commands(server: Server, config_dir: Path, tmp_path: Path) -> None:
    made = run_cli(
        "notifications",
        "channels",
        "create",
        "cli hook",
        "--webhook",
        HOOK,
        "--secret-file",
        "-",
        "--header",
        "X-Team=scoring",
        "--json",
        server=server,
        config=config_dir,
        input_text=SECRET + "\n",
    )
    assert made.returncode == 0, made.stderr
    channel = json.loads(made.stdout)
    assert channel["hasSecretToken"] and channel["customHeaders"] == [{"name": "X-Team"}]
    mail = run_cli(
        "notifications",
        "channels",
        "create",
        "cli mail",
        "--email",
        "ops@example.com",
        "--email",
        "lead@example.com",
        "-q",
        server=server,
        config=config_dir,
    )
    assert mail.returncode == 0, mail.stderr
    policy = run_cli(
        "notifications",
        "policies",
        "create",
        "failures",
        "--channel",
        mail.stdout.strip(),
        "--event",
        "batch_predictions.failed",
        "--max-frequency",
        "PT1H",
        "-q",
        server=server,
        config=config_dir,
    )
    assert policy.returncode == 0, policy.stderr
    listing = run_cli("notifications", "channels", "list", server=server, config=config_dir)
    assert "cli hook" in listing.stdout and "lead@example.com" in listing.stdout
    assert SECRET not in listing.stdout
    policies = run_cli(
        "notifications", "policies", "list", "--json", server=server, config=config_dir
    )
    assert [
        p["maximalFrequency"]
        for p in json.loads(policies.stdout)
        if p["id"] == policy.stdout.strip()
    ] == ["PT1H"]
    tested = run_cli(
        "notifications", "channels", "test", channel["id"], "-q", server=server, config=config_dir
    )
    assert tested.returncode == 0, tested.stderr
    deliveries = run_cli(
        "notifications",
        "channels",
        "deliveries",
        channel["id"],
        "--json",
        server=server,
        config=config_dir,
    )
    assert tested.stdout.strip() in {d["id"] for d in json.loads(deliveries.stdout)}
    both = run_cli(
        "notifications",
        "channels",
        "create",
        "x",
        "--webhook",
        HOOK,
        "--email",
        "a@example.com",
        server=server,
        config=config_dir,
    )
    assert_clean_failure(both, 2)
    private = run_cli(
        "notifications",
        "channels",
        "create",
        "x",
        "--webhook",
        "http://127.0.0.1:9/",
        server=server,
        config=config_dir,
    )
    assert_clean_failure(private, 1)  # the server's 422
    assert "payloadUrl" in private.stderr
    gone = run_cli(
        "notifications", "channels", "delete", channel["id"], server=server, config=config_dir
    )
    assert gone.returncode == 0
    missing = run_cli(
        "notifications", "channels", "delete", channel["id"], server=server, config=config_dir
    )
    assert_clean_failure(missing, 3)


def test_cli_reads_custom_headers_from_a_file(
    server: Server, config_dir: Path, tmp_path: Path
) -> None:
    """Header values (often credentials) need not be on the command line, which any local
    user sees in the process list: ``--headers-file`` takes ``NAME: VALUE`` lines."""
    headers = tmp_path / "headers.txt"
    headers.write_text("# for the ops hook\nAuthorization: Bearer hdr-Secret\n\nX-Team:scoring\n")

    def create(*extra: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(
            "notifications",
            "channels",
            "create",
            "file hook",
            "--webhook",
            HOOK,
            *extra,
            server=server,
            config=config_dir,
            input_text=input_text,
        )

    made = create("--header", "X-Env=prod", "--headers-file", str(headers), "--json")
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)["customHeaders"]
    assert shown == [{"name": "X-Env"}, {"name": "Authorization"}, {"name": "X-Team"}]
    piped = create("--headers-file", "-", "--json", input_text="X-Token: t0ken\n")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["customHeaders"] == [{"name": "X-Token"}]
    (tmp_path / "bad.txt").write_text("Authorization Bearer hdr-Secret\n")
    bad = create("--headers-file", str(tmp_path / "bad.txt"))
    assert_clean_failure(bad, 2)
    assert "line 1" in bad.stderr and "hdr-Secret" not in bad.stderr
    both = create("--headers-file", "-", "--secret-file", "-", input_text="X: y\n")
    assert_clean_failure(both, 2)
    mail = run_cli(
        "notifications",
        "channels",
        "create",
        "m",
        "--email",
        "ops@example.com",
        "--headers-file",
        str(headers),
        server=server,
        config=config_dir,
    )
    assert_clean_failure(mail, 2)
