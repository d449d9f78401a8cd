"""``scorecast notifications``: channels (webhooks, email) and the policies that feed them.

A webhook's secret never comes from the command line (argv shows in the process list and the
shell history): ``--secret-file`` reads it from a file or stdin (``-``). Custom headers, whose
values often are credentials, come the same way from ``--headers-file`` (``NAME: VALUE`` lines,
as HTTP writes them); ``--header NAME=VALUE`` stays for values that are no secret.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scorecast_client.cli._common import (
    JsonOption,
    ProfileOption,
    QuietOption,
    UsageError,
    connect,
    handle_errors,
    print_ids,
    print_json,
    print_one,
    print_table,
    short_time,
)
from scorecast_client.cli._secrets import STDIN, read_one_secret, read_secret_file, source_name

app = typer.Typer(
    help="Tell people about runs: webhook and email channels, and policies.",
    no_args_is_help=True,
    epilog="Example: scorecast notifications channels create ops --webhook https://hooks.example.com/x",
)
channels = typer.Typer(help="Webhook and email channels.", no_args_is_help=True)
policies = typer.Typer(help="Which events go to which channel.", no_args_is_help=True)
app.add_typer(channels, name="channels")
app.add_typer(policies, name="policies")


def _headers_file(source: str) -> list[dict[str, str]]:
    """The headers of a file (or stdin, ``-``) of ``NAME: VALUE`` lines; blank lines and lines
    starting with ``#`` are skipped."""
    headers = []
    for number, line in enumerate(read_secret_file(source).splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            where = f"{source_name(source)} line {number}"
            raise UsageError(f"--headers-file takes NAME: VALUE lines; {where} is not one")
        headers.append({"name": name.strip(), "value": value.strip()})
    return headers


def _headers(pairs: list[str]) -> list[dict[str, str]]:
    headers = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--header takes NAME=VALUE, not {pair!r}")
        headers.append({"name": name, "value": value})
    return headers


@channels.command(
    "create", epilog="Example: scorecast notifications channels create ops --email ops@example.com"
)
@handle_errors
def create_channel(
    name: Annotated[str, typer.Argument(help="the channel's name")],
    *,
    webhook: Annotated[
        str | None, typer.Option("--webhook", metavar="URL", help="a webhook's payload URL")
    ] = None,
    email: Annotated[
        list[str] | None,
        typer.Option("--email", metavar="ADDRESS", help="an email address (repeatable)"),
    ] = None,
    secret_file: Annotated[
        str | None,
        typer.Option(
            "--secret-file", metavar="FILE", help="the webhook's signing secret; - for stdin"
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            metavar="NAME=VALUE",
            help="a custom header (repeatable); shows in the process list: for credentials "
            "use --headers-file",
        ),
    ] = None,
    headers_file: Annotated[
        str | None,
        typer.Option(
            "--headers-file",
            metavar="FILE",
            help="custom headers, one 'NAME: VALUE' per line; - for stdin",
        ),
    ] = None,
    no_validate_ssl: Annotated[
        bool, typer.Option("--no-validate-ssl", help="accept any TLS certificate")
    ] = False,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Make a webhook channel (--webhook) or an email channel (--email)."""
    if (webhook is None) == (not email):
        raise UsageError("give either --webhook URL or --email ADDRESS")
    body: dict[str, Any] = {"name": name}
    if webhook is not None:
        body.update(channelType="Webhook", payloadUrl=webhook, validateSsl=not no_validate_ssl)
        if secret_file == headers_file == STDIN:
            raise UsageError("only one of --secret-file and --headers-file can read stdin")
        if secret_file is not None:
            body["secretToken"] = read_one_secret(secret_file)
        custom = _headers(header or []) + (_headers_file(headers_file) if headers_file else [])
        if custom:
            body["customHeaders"] = custom
    else:
        if secret_file is not None or header or headers_file is not None:
            raise UsageError("--secret-file, --header and --headers-file are for webhook channels")
        body.update(channelType="Email", emailAddresses=email)
    with connect(profile) as client:
        made = client.notification_channels.create(body)
    text = f"made {made['channelType'].lower()} channel {made['name']!r}: {made['id']}"
    print_one(made, ident=made["id"], text=text, json_output=json_output, quiet=quiet)


@channels.command("list", epilog="Example: scorecast notifications channels list --json")
@handle_errors
def list_channels(
    profile: ProfileOption = None, json_output: JsonOption = False, quiet: QuietOption = False
) -> None:
    """Every channel (never a secret)."""
    with connect(profile) as client:
        found = list(client.notification_channels.list())
    if json_output:
        print_json(found)
    elif quiet:
        print_ids(item["id"] for item in found)
    else:
        rows = [
            (
                c["id"],
                c["name"],
                c["channelType"],
                c["payloadUrl"] or ", ".join(c["emailAddresses"] or []),
                c["policyCount"],
                short_time(c["lastNotificationAt"]),
            )
            for c in found
        ]
        print_table(("ID", "NAME", "TYPE", "TARGET", "POLICIES", "LAST SENT (UTC)"), rows)


@channels.command("delete", epilog="Example: scorecast notifications channels delete 65f0c0ffee00")
@handle_errors
def delete_channel(
    channel_id: Annotated[str, typer.Argument(metavar="CHANNEL_ID")],
    profile: ProfileOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete a channel with its policies and deliveries."""
    with connect(profile) as client:
        client.notification_channels.delete(channel_id)
    if not quiet:
        typer.echo(f"deleted channel {channel_id}", err=True)


@channels.command("test", epilog="Example: scorecast notifications channels test 65f0c0ffee00")
@handle_errors
def test_channel(
    channel_id: Annotated[str, typer.Argument(metavar="CHANNEL_ID")],
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Queue a test delivery (see it with `deliveries`)."""
    with connect(profile) as client:
        made = client.notification_channels.test(channel_id)
    text = f"queued test delivery {made['id']}"
    print_one(made, ident=made["id"], text=text, json_output=json_output, quiet=quiet)


@channels.command(
    "deliveries", epilog="Example: scorecast notifications channels deliveries 65f0c0ffee00"
)
@handle_errors
def list_deliveries(
    channel_id: Annotated[str, typer.Argument(metavar="CHANNEL_ID")],
    *,
    status: Annotated[
        str | None, typer.Option("--status", metavar="STATUS", help="pending, delivered, failed")
    ] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """A channel's deliveries, newest first, with their last answer."""
    with connect(profile) as client:
        found = list(client.notification_channels.deliveries(channel_id, status=status))
    if json_output:
        print_json(found)
    elif quiet:
        print_ids(item["id"] for item in found)
    else:
        rows = []
        for d in found:
            last = d["attempts"][-1] if d["attempts"] else None
            answer = None if last is None else (last["statusCode"] or last["error"])
            rows.append(
                (
                    d["id"],
                    d["event"],
                    d["status"],
                    d["attemptCount"],
                    answer,
                    short_time(d["createdAt"]),
                )
            )
        print_table(("ID", "EVENT", "STATUS", "ATTEMPTS", "LAST ANSWER", "CREATED (UTC)"), rows)


@policies.command(
    "create",
    epilog="Example: scorecast notifications policies create failures --channel ID "
    "--event batch_predictions.failed",
)
@handle_errors
def create_policy(
    name: Annotated[str, typer.Argument(help="the policy's name")],
    *,
    channel: Annotated[str, typer.Option("--channel", metavar="CHANNEL_ID")],
    event: Annotated[
        str | None, typer.Option("--event", metavar="EVENT", help="one event type")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option("--group", metavar="GROUP", help="an event group, e.g. batch_predictions.all"),
    ] = None,
    definition: Annotated[
        str | None,
        typer.Option("--definition", metavar="DEFINITION_ID", help="only this definition"),
    ] = None,
    max_frequency: Annotated[
        str | None,
        typer.Option("--max-frequency", metavar="DURATION", help="at most one per, e.g. PT1H"),
    ] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Send an event type (--event) or group (--group) to a channel."""
    if (event is None) == (group is None):
        raise UsageError("give either --event EVENT or --group GROUP")
    body: dict[str, Any] = {"name": name, "channelId": channel}
    body.update({"eventType": event} if event is not None else {"eventGroup": group})
    if definition is not None:
        body["relatedEntityType"] = "batchPredictionJobDefinition"
        body["relatedEntityId"] = definition
    if max_frequency is not None:
        body["maximalFrequency"] = max_frequency
    with connect(profile) as client:
        made = client.notification_policies.create(body)
    text = f"made policy {made['name']!r}: {made['id']}"
    print_one(made, ident=made["id"], text=text, json_output=json_output, quiet=quiet)


@policies.command("list", epilog="Example: scorecast notifications policies list")
@handle_errors
def list_policies(
    *,
    channel: Annotated[str | None, typer.Option("--channel", metavar="CHANNEL_ID")] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Every policy (of one channel with --channel)."""
    with connect(profile) as client:
        found = list(client.notification_policies.list(channel_id=channel))
    if json_output:
        print_json(found)
    elif quiet:
        print_ids(item["id"] for item in found)
    else:
        rows = [
            (
                p["id"],
                p["name"],
                p["eventType"] or p["eventGroup"],
                p["channelId"],
                p["relatedEntityId"] or "all",
                p["maximalFrequency"],
                "yes" if p["active"] else "no",
            )
            for p in found
        ]
        print_table(("ID", "NAME", "EVENTS", "CHANNEL", "DEFINITION", "MAX FREQ", "ACTIVE"), rows)


@policies.command("delete", epilog="Example: scorecast notifications policies delete 65f0c0ffee00")
@handle_errors
def delete_policy(
    policy_id: Annotated[str, typer.Argument(metavar="POLICY_ID")],
    profile: ProfileOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete a policy."""
    with connect(profile) as client:
        client.notification_policies.delete(policy_id)
    if not quiet:
        typer.echo(f"deleted policy {policy_id}", err=True)
