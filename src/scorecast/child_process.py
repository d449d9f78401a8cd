"""Python child processes of the service (job processes, model inspection, migrations), talked
to over a ``multiprocessing`` connection on a socket pair.

A child is a fresh interpreter (``python -P -c "from <module> import <function>; ..."``), like
``multiprocessing``'s ``spawn``, but started with ``subprocess``: ``spawn`` also starts
``multiprocessing``'s resource tracker, one more process of 14 MB that the service would keep
for ever for nothing (it creates no named semaphores or shared memory). ``-P`` keeps the
current directory off the child's ``sys.path``.

``call_in_child`` runs one function in such a child, so that what it imports (a model's
library, Alembic) never enters the service process.

A child runs code the service does not control (a model's loader, and with an operator-allowed
pickle model the model itself), so it gets only what it needs: its environment lacks
``WITHHELD_VARIABLES`` (the credential key, the store's URL, the API token, the state folder
that holds the key file, the SMTP password), and what it needs of them comes over its connection
(``Settings.for_child``), and on Linux the service's own environment and memory are closed to
it (``process_privacy``). That keeps the key from being handed to a child, not out of its
reach: a child runs as the same Unix user, so code running in it can still open the key file,
whose place a model can guess from its own file's path (see
``docs/how-to/trusted-models.md``). A child creates files owner-only
(``state_folder.OWNER_ONLY_UMASK``), whatever umask its parent had.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from scorecast.errors import ScorecastError
from scorecast.state_folder import OWNER_ONLY_UMASK

#: environment variables a child never sees (see the module docstring)
WITHHELD_VARIABLES = frozenset(
    {
        "SCORECAST_SECRET_KEY",
        "SCORECAST_DATABASE_URL",
        "SCORECAST_TOKEN",
        "SCORECAST_HOME",
        "SCORECAST_SMTP_PASSWORD",
    }
)


class ChildDied(ScorecastError):
    """The child process ended before it answered (it crashed, or was killed)."""


def start_child(module: str, function: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``function(connection)`` of ``module`` in a new interpreter; (the process, this
    side's connection). The child gets its end with ``child_connection`` from its argument."""
    parent, child = socket.socketpair()
    with parent, child:
        process = subprocess.Popen(
            [
                sys.executable,
                "-P",
                "-c",
                f"import os, sys; os.umask({OWNER_ONLY_UMASK:#o}); "
                f"from {module} import {function}; {function}(int(sys.argv[1]))",
                str(child.fileno()),
            ],
            stdin=subprocess.DEVNULL,
            pass_fds=(child.fileno(),),
            env=child_environment(os.environ),
        )
        return process, Connection(parent.detach())


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without ``WITHHELD_VARIABLES``."""
    return {name: value for name, value in environ.items() if name not in WITHHELD_VARIABLES}


def child_connection(descriptor: int) -> Connection:
    """The child's end of the connection ``start_child`` passed it."""
    return Connection(descriptor)


def call_in_child(module: str, function: str, *args: Any) -> Any:
    """``function(*args)`` of ``module``, run in a new interpreter: what it returned, or the
    exception it raised raised here (one that cannot be pickled comes back as a
    ``ScorecastError`` with its text); ``ChildDied`` when the child ends without an answer."""
    process, connection = start_child(__name__, "_answer_call")
    with connection:
        try:
            connection.send((module, function, args))
            outcome, value = connection.recv()
        except (EOFError, OSError):
            outcome, value = "died", None
    process.wait()
    if outcome == "died":
        raise ChildDied(
            f"the child process running {module}.{function} ended with code {process.returncode}"
        )
    return replied(outcome, value)


def reply_to(connection: Connection, call: Callable[[], Any], *prefix: Any) -> None:
    """Send ``(*prefix, "ok", call())``, or ``(*prefix, "error", exception)`` when it raised;
    an exception that cannot be pickled goes as a ``ScorecastError`` with its text."""
    reply: tuple[str, Any]
    try:
        reply = ("ok", call())
    except Exception as exc:
        reply = ("error", exc)
    try:
        connection.send((*prefix, *reply))
    except Exception as exc:
        text = f"{type(reply[1]).__name__}: {reply[1]}"[:2000]
        error = ScorecastError(f"{text} (cannot be sent back: {exc})")
        connection.send((*prefix, "error", error))


def replied(outcome: str, value: Any) -> Any:
    """What a reply sent by ``reply_to`` carries: its value, or its exception raised here."""
    if outcome == "error":
        raise value
    return value


def _answer_call(descriptor: int) -> None:
    with child_connection(descriptor) as connection:
        module, function, args = connection.recv()
        reply_to(connection, lambda: getattr(importlib.import_module(module), function)(*args))
