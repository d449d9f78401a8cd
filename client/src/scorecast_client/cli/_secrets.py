"""Secrets on the command line's side: never from argv (it shows in the process list and the
shell history), but from a file, from stdin (``-``) or from a hidden prompt on a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from scorecast_client.cli._common import UsageError

#: the ``FILE`` argument that means stdin
STDIN = "-"


def source_name(source: str) -> str:
    """How an error names where a secret came from."""
    return "stdin" if source == STDIN else source


def read_secret_file(source: str) -> str:
    """The whole text of the file ``source``, or of stdin for ``-``."""
    if source == STDIN:
        return sys.stdin.read()
    return Path(source).read_text(encoding="utf-8")


def read_one_secret(source: str) -> str:
    """``read_secret_file`` for a single value: stripped, and a UsageError if empty."""
    secret = read_secret_file(source).strip()
    if not secret:
        raise UsageError(f"the secret in {source_name(source)} is empty")
    return secret


def prompt_secret(label: str, *, hidden: bool = True, otherwise: str) -> str:
    """What the user types at a prompt (``hidden``: not echoed); a UsageError ``otherwise``
    when stdin is not a terminal (no prompt can be answered)."""
    if not sys.stdin.isatty():
        raise UsageError(otherwise)
    return str(typer.prompt(label, hide_input=hidden))


def prompt_or_stdin_line(label: str) -> str:
    """A hidden prompt on a terminal, else the first line of stdin (``echo $T | scorecast …``)."""
    if sys.stdin.isatty():
        return str(typer.prompt(label, hide_input=True))
    return sys.stdin.readline()
