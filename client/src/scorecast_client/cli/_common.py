"""What every client command shares: its options, the client it talks through, how it prints
results and how an error becomes one line on stderr and an exit code.

Exit codes: 0 done; 1 the job or the request failed (an answer that is not the API's too); 2
usage (bad option, unreadable local file or profile file, an endpoint that is not a URL); 3 not
found; 4 authentication (no token, a token refused or that cannot be one, an unknown profile, a
profile's token for another endpoint); 130 interrupted; 141 stdout was closed early
(``| head``), quietly, as a shell shows a command ended by SIGPIPE.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, ParamSpec, TypeVar

import typer

from scorecast_client._client import Client
from scorecast_client._exceptions import (
    APIError,
    ConfigurationError,
    EndpointError,
    Forbidden,
    NotFound,
    ProfileFileError,
    ScorecastError,
    Unauthorized,
)

if TYPE_CHECKING:
    from rich.console import Console

#: characters; the width of a table written to a pipe or a file
_UNWRAPPED = 10_000

#: what a terminal would act on rather than show: C0 and C1 controls (ESC starts the escape
#: sequences that set a window title or write the clipboard), and the bidirectional overrides
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_AUTH = 4
EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 141

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="PROFILE",
        envvar="SCORECAST_PROFILE",
        help="profile saved by `scorecast login` (default: the default profile)",
        show_envvar=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON document")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="print ids only")]


def finite(value: float | None) -> float | None:
    """The callback of a float option: ``nan`` and ``inf`` parse as floats but are no number
    of seconds or threshold (a usage error naming the option, exit 2)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter("must be a finite number")
    return value


def writable_output(output: str) -> None:
    """Raises UsageError unless the folder of the file ``output`` exists and can be written
    (checked before a job is submitted, rather than once it has run)."""
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {output}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {output}: the folder {folder} is not writable")


class UsageError(ScorecastError):
    """A mistake in the command line or a local file: exit code 2."""


P = ParamSpec("P")
R = TypeVar("R")


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an exception a command let escape."""
    if isinstance(exc, UsageError | EndpointError | ProfileFileError | OSError | ValueError):
        return EXIT_USAGE
    if isinstance(exc, NotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, Unauthorized | Forbidden | ConfigurationError):
        return EXIT_AUTH
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def plain(value: object) -> str:
    """``value`` as text a terminal shows as it is: every control character is written as its
    Python escape (``\\x1b``, ``\\n``). Text from the server goes through here (or through
    ``print_table``, which also keeps rich from reading it as markup)."""
    return _CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode(), str(value))


def echo(text: object, *, err: bool = False) -> None:
    """``typer.echo`` of a line that holds text from the server (see ``plain``)."""
    typer.echo(plain(text), err=err)


def one_line(exc: BaseException) -> str:
    """The message of the error line (field errors of the server appended)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    message = exc.message if isinstance(exc, ScorecastError) else str(exc)
    if isinstance(exc, APIError) and exc.errors and "errors" not in message:
        fields = json.dumps(exc.errors, ensure_ascii=False, separators=(", ", ": "))
        if fields not in message:
            message = f"{message} {fields}"
    return plain(" ".join(message.split())) or type(exc).__name__


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turns the SDK's exceptions into ``error: ...`` on stderr and the documented exit code;
    a closed stdout ends the command quietly."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = command(*args, **kwargs)
            sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
            return result
        except BrokenPipeError:
            _discard_stdout()
            exit_with(EXIT_CLOSED_PIPE)
        except (ScorecastError, OSError, ValueError, KeyboardInterrupt) as exc:
            if isinstance(exc, KeyboardInterrupt):
                typer.echo("interrupted", err=True)
            else:
                typer.echo(f"error: {one_line(exc)}", err=True)
            exit_with(exit_code_for(exc))

    return wrapper


def _discard_stdout() -> None:
    """Points stdout at the null device: what is still buffered for the closed pipe would
    otherwise fail again, with a message, when Python flushes it at exit."""
    with contextlib.suppress(OSError, ValueError):  # no file descriptor (a test's runner)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def exit_with(code: int) -> NoReturn:
    """Ends the command with ``code``. SystemExit, not typer.Exit: click run with
    ``standalone_mode=False`` (as the ``scorecast`` entry points do) returns typer.Exit's code
    instead of raising it, and the code would be lost."""
    raise SystemExit(code)


def connect(profile: str | None) -> Client:
    """A client from the environment, then the profile (see scorecast_client's settings)."""
    return Client(profile=profile)


def print_json(document: Any) -> None:
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def print_one(item: Any, *, ident: str, text: str, json_output: bool, quiet: bool) -> None:
    """One object a command made or ran: as JSON, as its id alone, or as a line of text."""
    if json_output:
        print_json(item)
    elif quiet:
        echo(ident)
    else:
        echo(text)


def print_ids(ids: Iterable[str]) -> None:
    for ident in ids:
        echo(ident)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table on stdout: boxed and coloured on a terminal, plain columns otherwise. Cells are
    shown as they are (``plain``): never read as rich markup."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = _stdout_console()
    if not console.is_terminal:  # a pipe or a file: never wrap a row
        console = _stdout_console(width=_UNWRAPPED)
    table = Table(box=box.SIMPLE_HEAD if console.is_terminal else None, pad_edge=False)
    for index, column in enumerate(columns):
        # the first column is the id: whole, so that it can be copied; on a narrow terminal
        # the others are cut short with an ellipsis rather than wrapped
        overflow: Literal["fold", "ellipsis"] = "fold" if index == 0 else "ellipsis"
        table.add_column(Text(plain(column)), no_wrap=True, overflow=overflow)
    for row in rows:
        table.add_row(*(Text("" if cell is None else plain(cell)) for cell in row))
    console.print(table)


def _stdout_console(width: int | None = None) -> Console:
    """A rich console on stdout whose closed pipe ends the command as any other write's does
    (see ``handle_errors``), rather than with rich's own exit code 1."""
    from rich.console import Console

    class StdoutConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return StdoutConsole(no_color=_no_color(), width=width)


def short_time(value: str | None) -> str | None:
    """``2026-12-05T21:16:19.053826Z`` → ``2026-12-05 21:16:19`` (UTC) for tables."""
    if not value:
        return value
    return value.replace("T", " ", 1)[:19]


def print_fields(pairs: Iterable[tuple[str, Any]]) -> None:
    """``name: value`` lines of one object."""
    for name, value in pairs:
        shown = json.dumps(value) if isinstance(value, dict | list) else value
        echo(f"{name + ':':<24}{'' if shown is None else shown}")


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _no_color() -> bool | None:
    # https://no-color.org: present and not empty
    return True if os.environ.get("NO_COLOR") else None
