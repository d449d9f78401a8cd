"""The ``scorecast`` command. Each concept's commands live in their own module under cli/."""

from __future__ import annotations

import sys

import typer

from scorecast import __version__
from scorecast.errors import ScorecastError

app = typer.Typer(
    name="scorecast",
    help="Self-hosted batch prediction service that speaks DataRobot's Batch Prediction API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


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


def run() -> None:
    """Console-script entry point: user errors become a one-line message, never a traceback."""
    _register_subcommands()
    try:
        app(standalone_mode=False)
    except ScorecastError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
