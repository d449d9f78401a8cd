"""The ``scorecast`` command. Each concept's commands live in their own module under cli/.

Also ``python -m scorecast`` (``scorecast/__main__.py``), for when the console script is not on
``PATH``. Exit codes: 0 done, 1 a failure (store unreachable, aborted), 2 the caller's mistake
(a usage error, bad input).

Every command group is made by ``cli.groups.command_group`` (plain help: see there).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from scorecast import __version__
from scorecast.cli.groups import command_group
from scorecast.errors import ScorecastError

app = command_group(name="scorecast")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"scorecast {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the scorecast version and exit.",
        ),
    ] = False,
) -> None:
    """Self-hosted batch prediction service that speaks DataRobot's Batch Prediction API."""


@app.command()
def version() -> None:
    """Print the scorecast version."""
    typer.echo(__version__)


def _register_subcommands() -> None:
    # One line per command group; each module defines ``app`` (a group) or ``register(app)``.
    from scorecast.cli import schedule

    app.add_typer(schedule.app, name="schedule")
    from scorecast.cli import deployment, token

    app.add_typer(token.app, name="token")
    app.add_typer(deployment.app, name="deployment")
    from scorecast.cli import serve

    serve.register(app)
    from scorecast_client.cli import register as register_client_commands

    register_client_commands(app)


def run() -> None:
    """Console-script entry point: user errors become a one-line message, never a traceback.

    The process ends with the command's exit code: without standalone mode, click returns the
    code of a ``typer.Exit`` (130 for Ctrl-C) instead of exiting, so it is passed on here.
    """
    _register_subcommands()
    try:
        code = app(standalone_mode=False)
    except ScorecastError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors, an unreachable store, and the like
        import click
        from sqlalchemy import exc as sa_exc

        # typer >= 0.29 raises its own vendored click's exceptions (TyperException), older
        # releases click's: both are usage errors that know how to show themselves.
        show = getattr(exc, "show", None)
        if isinstance(exc, click.ClickException | typer.TyperException) and callable(show):
            show()
            sys.exit(int(getattr(exc, "exit_code", 2)))
        if isinstance(exc, sa_exc.ArgumentError | sa_exc.NoSuchModuleError):
            # the URL text itself is not echoed: it may hold a password
            typer.echo("error: SCORECAST_DATABASE_URL is not a usable SQLAlchemy URL", err=True)
            sys.exit(2)
        if _is_store_failure(exc):
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            typer.echo(f"error: cannot use the store{_store_file()}: {cause}", err=True)
            sys.exit(1)
        raise
    sys.exit(code if type(code) is int else 0)  # a command's other return values mean done


def _is_store_failure(exc: Exception) -> bool:
    """Whether ``exc`` says the store cannot be reached or read (not a bug of a statement): a
    connection that failed, or a SQLite file that is not a database."""
    from sqlalchemy import exc as sa_exc

    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) or (
        type(exc) is sa_exc.DatabaseError
    )


def _store_file() -> str:
    """`` PATH`` of the store when it is a SQLite file, for messages; else nothing (another
    store's URL may hold a password)."""
    from sqlalchemy import make_url

    from scorecast.config import Settings

    try:
        url = make_url(Settings.from_env().database_url)
    except Exception:
        return ""
    database = url.database or ""
    return f" {database}" if url.get_backend_name() == "sqlite" and database else ""
