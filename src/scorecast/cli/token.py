"""``scorecast token create``: a new API token, straight on the configured store.

Works before the first ``serve`` (the store is migrated first). The token is printed alone on
the last line of standard output; it is not stored anywhere in clear and cannot be shown again.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scorecast.cli.groups import command_group
from scorecast.domain.account_defaults import DEFAULT_ADMIN, DEFAULT_ORG

app = command_group(help="Create API tokens.")


@app.command("create")
def create(
    org: Annotated[
        str, typer.Option("--org", metavar="ORG", help="organization (created when missing)")
    ] = DEFAULT_ORG,
    user: Annotated[
        str, typer.Option("--user", metavar="USER", help="user (created when missing)")
    ] = DEFAULT_ADMIN,
    full_name: Annotated[
        str | None,
        typer.Option("--full-name", metavar="NAME", help="the user's full name, for a new user"),
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="a new user is an administrator")] = False,
) -> None:
    """Print a new API token for USER of ORG (both created when missing)."""
    from scorecast.cli.store_url import check_store_url
    from scorecast.config import Settings
    from scorecast.service.accounts import create_token
    from scorecast.state_folder import make_owner_only
    from scorecast.store.db import create_engine_for, migrate, session_scope

    settings = Settings.from_env()
    make_owner_only(settings.home)  # this may create the state folder and the store
    check_store_url(settings.database_url)
    migrate(settings.database_url)
    engine = create_engine_for(settings.database_url)
    try:
        with session_scope(engine) as session:
            token = create_token(session, org, user, full_name=full_name, is_admin=admin)
    finally:
        engine.dispose()
    typer.echo(
        f"New API token for user {user!r} of organization {org!r} "
        "(shown once; use it as SCORECAST_TOKEN or the datarobot client's token):",
        err=True,
    )
    typer.echo(token)
