"""The client commands of ``scorecast`` (login, score, jobs, definitions, deployments,
credentials, datasets, notifications).

``register(app)`` adds them to any typer app: the server's ``scorecast`` command does so, and
``run`` is the console script of a ``scorecast-client``-only install.
"""

from __future__ import annotations

import sys

import typer

__all__ = ["register", "run"]


def register(app: typer.Typer) -> None:
    """Adds every client command to ``app``."""
    from scorecast_client.cli import (
        credentials,
        datasets,
        definitions,
        deployments,
        jobs,
        login,
        notifications,
        score,
    )

    login.register(app)
    score.register(app)
    app.add_typer(jobs.app, name="jobs")
    app.add_typer(definitions.app, name="definitions")
    app.add_typer(deployments.app, name="deployments")
    app.add_typer(credentials.app, name="credentials")
    app.add_typer(datasets.app, name="datasets")
    app.add_typer(notifications.app, name="notifications")


def _client_app() -> typer.Typer:
    from scorecast_client import __version__

    app = typer.Typer(
        name="scorecast",
        help="Submit and follow batch prediction jobs on a scorecast server.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
    )

    @app.command()
    def version() -> None:
        """Print the scorecast-client version."""
        typer.echo(__version__)

    register(app)
    return app


def _usage_error_types() -> tuple[type[Exception], ...]:
    """Usage errors that know how to show themselves: typer >= 0.29 raises its vendored
    click's (and then needs no click package), older releases click's."""
    kinds: list[type[Exception]] = []
    typer_kind = getattr(typer, "TyperException", None)
    if isinstance(typer_kind, type) and issubclass(typer_kind, Exception):
        kinds.append(typer_kind)
    try:
        import click
    except ImportError:
        pass
    else:
        kinds.append(click.ClickException)
    return tuple(kinds)


def run() -> None:
    """Console-script entry point of scorecast-client: errors are one line, never a traceback."""
    app = _client_app()
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        show = getattr(exc, "show", None)
        if isinstance(exc, _usage_error_types()) and callable(show):
            show()
            sys.exit(int(getattr(exc, "exit_code", 2)))
        raise
    sys.exit(code if isinstance(code, int) else 0)
