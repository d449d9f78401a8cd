"""``scorecast login``: check a token against a server and save it as a named profile."""

from __future__ import annotations

from typing import Annotated

import typer

from scorecast_client._client import Client
from scorecast_client._settings import (
    DEFAULT_ENDPOINT,
    DEFAULT_PROFILE,
    Profile,
    normalize_endpoint,
    save_profile,
)
from scorecast_client.cli._common import UsageError, handle_errors
from scorecast_client.cli._secrets import prompt_or_stdin_line

EXAMPLES = """
Examples:

  scorecast login --endpoint https://scoring.example.com/api/v2

  echo "$TOKEN" | scorecast login --endpoint http://127.0.0.1:8080/api/v2 --profile local
"""


@handle_errors
def login(
    endpoint: Annotated[
        str,
        typer.Option(
            "--endpoint",
            metavar="ENDPOINT",
            help="the server's API root, e.g. http://host:8080/api/v2",
        ),
    ] = DEFAULT_ENDPOINT,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", metavar="TOKEN", help="the API token (better: the prompt, or stdin)"
        ),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", metavar="PROFILE", help="name to save the settings under")
    ] = DEFAULT_PROFILE,
    make_default: Annotated[
        bool, typer.Option("--default/--no-default", help="make it the default profile")
    ] = True,
) -> None:
    """Check the token against the server, then save endpoint and token as a profile.

    The token is read from a hidden prompt on a terminal, else from the first line of stdin.
    The profile file is written with mode 0600.
    """
    endpoint = normalize_endpoint(endpoint, "--endpoint")
    if token is None:
        token = prompt_or_stdin_line("API token")
    token = token.strip()
    if not token:
        raise UsageError("no token given (prompt, stdin or --token)")
    with Client(endpoint, token) as client:
        client.check()
        endpoint = client.endpoint
    path = save_profile(profile, Profile(endpoint, token), make_default=make_default)
    typer.echo(f"Logged in to {endpoint}; saved as profile {profile!r} in {path}", err=True)


def register(app: typer.Typer) -> None:
    app.command("login", epilog=EXAMPLES)(login)
