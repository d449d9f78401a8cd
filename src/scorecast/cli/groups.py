"""How every ``scorecast`` command group is made, so that all of them read alike.

``rich_markup_mode=None``: typer's rich help panel shows a type such as ``<bool>`` next to every
flag (``--help`` included); the plain help shows a flag alone and a value option with its
``metavar`` (each option declares one: ``--port PORT``).
"""

from __future__ import annotations

from typing import Any

import typer


def command_group(**options: Any) -> typer.Typer:
    """A ``typer.Typer`` with scorecast's help style (plain help, no completion commands)."""
    return typer.Typer(
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
        no_args_is_help=True,
        **options,
    )
