"""``scorecast credentials``: secrets for connectors.

A credential's secret fields never come from the command line (argv shows in the process list
and the shell history): they are read from a JSON or YAML file, from stdin (``-f -``), or from
hidden prompts on a terminal.
"""

from __future__ import annotations

import json
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
from scorecast_client.cli._secrets import prompt_secret, read_secret_file, source_name

app = typer.Typer(
    help="Store credentials for connectors (secrets are never shown again).",
    no_args_is_help=True,
    epilog="Example: scorecast credentials create warehouse --type basic -f secret.json",
)

#: the fields of each credential type, as the API names them; (field, secret)
FIELDS: dict[str, tuple[tuple[str, bool], ...]] = {
    "basic": (("user", False), ("password", True)),
    "s3": (("awsAccessKeyId", False), ("awsSecretAccessKey", True)),
    "azure": (("azureConnectionString", True),),
    "gcp": (("gcpKey", True),),
}

NO_SECRET_SOURCE = "give the secret fields with -f FILE (or -f - for stdin)"


def _secret_fields(credential_type: str, source: str | None) -> dict[str, Any]:
    if source is not None:
        document = parse_secret_document(read_secret_file(source), source_name(source))
        if not isinstance(document, dict):
            raise UsageError("the secret file must hold one object of the credential's fields")
        return document
    fields: dict[str, Any] = {}
    for field, secret in FIELDS[credential_type]:
        value = prompt_secret(field, hidden=secret, otherwise=NO_SECRET_SOURCE)
        fields[field] = json.loads(value) if field == "gcpKey" else value
    return fields


def parse_secret_document(text: str, name: str) -> Any:
    """The JSON (tried first: JSON with a tab is no YAML) or YAML document of a secret file.

    A parse error names the line and column only: the parsers' messages quote the offending
    line, which holds a secret.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        json_error = exc
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if text.lstrip().startswith(("{", "[")) or mark is None:
            line, column = json_error.lineno, json_error.colno
        else:
            line, column = mark.line + 1, mark.column + 1
    raise UsageError(f"{name} is not JSON or YAML (line {line}, column {column})")


@app.command("create", epilog="Example: scorecast credentials create db --type basic")
@handle_errors
def create_credential(
    name: Annotated[str, typer.Argument(help="the credential's name")],
    *,
    credential_type: Annotated[
        str, typer.Option("--type", metavar="TYPE", help="basic, s3, azure or gcp")
    ],
    secret_file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="JSON/YAML object of the type's fields; - for stdin",
        ),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", metavar="DESCRIPTION")] = None,
    profile: ProfileOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Store a credential; its fields come from a file, stdin or prompts, never from argv.

    Fields: basic user, password; s3 awsAccessKeyId, awsSecretAccessKey (awsSessionToken);
    azure azureConnectionString; gcp gcpKey (a service account key object).
    """
    if credential_type not in FIELDS:
        raise UsageError(f"--type must be one of {', '.join(FIELDS)}")
    body = {**_secret_fields(credential_type, secret_file), "name": name}
    body["credentialType"] = credential_type
    if description is not None:
        body["description"] = description
    with connect(profile) as client:
        made = client.credentials.create(body)
    text = f"stored credential {made['name']!r}: {made['credentialId']}"
    print_one(made, ident=made["credentialId"], text=text, json_output=json_output, quiet=quiet)


@app.command("list", epilog="Example: scorecast credentials list --json")
@handle_errors
def list_credentials(
    profile: ProfileOption = None, json_output: JsonOption = False, quiet: QuietOption = False
) -> None:
    """Every credential (names and types; never a secret)."""
    with connect(profile) as client:
        found = list(client.credentials.list())
    if json_output:
        print_json(found)
    elif quiet:
        print_ids(item["credentialId"] for item in found)
    else:
        rows = [
            (c["credentialId"], c["name"], c["credentialType"], short_time(c["creationDate"]))
            for c in found
        ]
        print_table(("ID", "NAME", "TYPE", "CREATED (UTC)"), rows)


@app.command("delete", epilog="Example: scorecast credentials delete 65f0c0ffee00")
@handle_errors
def delete_credential(
    credential_id: Annotated[str, typer.Argument(metavar="CREDENTIAL_ID")],
    profile: ProfileOption = None,
    quiet: QuietOption = False,
) -> None:
    """Delete a credential."""
    with connect(profile) as client:
        client.credentials.delete(credential_id)
    if not quiet:
        typer.echo(f"deleted credential {credential_id}", err=True)
