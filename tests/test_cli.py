"""The real ``scorecast`` console script on bad input: one line on stderr, never a traceback."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from scorecast import __version__


def _scorecast(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m scorecast ARGS`` (no console script on PATH needed)."""
    return subprocess.run(
        [sys.executable, "-m", "scorecast", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--no-such-flag"],
        ["serve", "--port", "99999"],
        ["serve", "--workers", "0"],
        ["schedule", "next"],
        ["schedule", "next", "--count", "1001", '{"minute": [0], "hour": [16]}'],
    ],
)
def test_usage_errors_are_one_message_without_traceback(args: list[str]) -> None:
    result = _scorecast(*args)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


#: commands that open the store first (serve migrates it in a child process)
STORE_COMMANDS = [("token", "create"), ("serve", "--port", "0")]


@pytest.mark.parametrize("command", STORE_COMMANDS)
def test_an_unreachable_store_is_named_without_traceback_or_password(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # port 1 on loopback: nothing listens there, the connection is refused at once
    env = {
        "SCORECAST_HOME": str(tmp_path),
        "SCORECAST_DATABASE_URL": "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/x",
    }
    result = _scorecast(*command, env=env)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "cannot use the store" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", STORE_COMMANDS)
def test_a_malformed_store_url_is_refused_without_echoing_it(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {"SCORECAST_HOME": str(tmp_path), "SCORECAST_DATABASE_URL": "::not a url s3cret-pw"}
    result = _scorecast(*command, env=env)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert "SCORECAST_DATABASE_URL" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


#: URLs whose options the driver refuses when it connects, before any network
REFUSED_STORE_URLS = [
    "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/x?connect_timeout=x",
    "postgresql://postgres:s3cret-pw@127.0.0.1:1/x?no_such_option=s3cret-pw",
    "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/x?sslmode=s3cret-pw",
    "sqlite:///{home}/scorecast.db?timeout=x",
]


@pytest.mark.parametrize("url", REFUSED_STORE_URLS)
@pytest.mark.parametrize("command", STORE_COMMANDS)
def test_a_store_url_option_the_driver_refuses_is_a_usage_error(
    tmp_path: Path, command: tuple[str, ...], url: str
) -> None:
    env = {"SCORECAST_HOME": str(tmp_path), "SCORECAST_DATABASE_URL": url.format(home=tmp_path)}
    result = _scorecast(*command, env=env)
    assert result.returncode == 2, result
    assert result.stderr.startswith("error: SCORECAST_DATABASE_URL: "), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "serving" not in result.stdout


def test_schedule_next_prints_up_to_the_largest_count() -> None:
    daily = '{"minute": [0], "hour": [16], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}'
    result = _scorecast("schedule", "next", daily, "--after", "2026-01-01", "--count", "1000")
    assert result.returncode == 0, result
    assert len(result.stdout.splitlines()) == 1000
    too_many = _scorecast("schedule", "next", daily, "--count", "1001")
    assert too_many.returncode == 2, too_many
    assert too_many.stderr == "error: --count: 1001 is more than 1000\n"


def test_a_port_in_use_stops_serve_before_the_store_is_opened(tmp_path: Path) -> None:
    """Exit 1 with one line, and no worker or scheduler ever ran: the store was not created."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _scorecast("serve", "--port", str(port), env={"SCORECAST_HOME": str(tmp_path)})
    assert result.returncode == 1, result
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: "), result
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "serving" not in result.stdout
    assert not (tmp_path / "scorecast.db").exists()


def test_version_flag_prints_the_version() -> None:
    result = _scorecast("--version")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"scorecast {__version__}\n",
        "",
    )
    assert _scorecast("version").stdout == f"{__version__}\n"


def test_python_dash_m_names_itself_in_usage() -> None:
    result = _scorecast("--help")
    assert result.returncode == 0, result
    assert "Usage: python -m scorecast" in result.stdout
    assert "--version" in result.stdout


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, group)]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            found += _commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


@functools.cache
def _every_command() -> list[tuple[tuple[str, ...], Any]]:
    import typer.main

    from scorecast.cli.main import _register_subcommands, app

    _register_subcommands()
    return _commands(typer.main.get_command(app))


def _help_in_process(*path: str) -> Any:
    """``scorecast PATH --help`` run in this process by click's test runner: the same text, byte
    for byte, as the console script prints to a pipe (click's width there is 80 columns less
    2), without starting one interpreter per command. The console script itself is run by
    ``test_python_dash_m_names_itself_in_usage`` and ``test_serve_options_have_named_metavars``.
    """
    from typer.testing import CliRunner

    from scorecast.cli.main import app

    _every_command()  # registers the subcommands (once: each call would add them again)
    return CliRunner().invoke(
        app, [*path, "--help"], prog_name="python -m scorecast", terminal_width=78
    )


@pytest.mark.parametrize(
    ("path", "command"),
    _every_command(),
    ids=[" ".join(p) or "scorecast" for p, _ in _every_command()],
)
def test_help_shows_flags_alone_and_values_with_a_metavar(
    path: tuple[str, ...], command: Any
) -> None:
    result = _help_in_process(*path)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    lines: dict[str, str] = {}
    for line in result.stdout.splitlines():
        if line.startswith("  -"):  # "  -o, --output OUTPUT  help": each name finds the line
            for name in line.split("  ")[1].split(" ")[0::1]:
                lines.setdefault(name.rstrip(","), line)
    assert "--help" in lines
    for param in command.params:
        if param.param_type_name != "option" or param.hidden:
            continue
        line = lines[param.opts[0]]
        if param.is_flag:  # e.g. "  --demo   Set up...", "  --scheduler / --no-scheduler  Run..."
            assert "<" not in line.split("  ")[1], line
            assert all(name in line for name in [*param.opts, *param.secondary_opts]), line
        else:
            assert param.metavar and param.metavar.isupper(), (param.opts, param.metavar)
            shown = f"{param.opts[0]} {param.metavar}"
            assert re.search(re.escape(shown) + r"(\s|$)", line), line


def test_serve_options_have_named_metavars() -> None:
    result = _scorecast("serve", "--help")
    for shown in ("--host ADDRESS", "--port PORT", "--workers N", "--lease-seconds SECONDS"):
        assert shown in result.stdout, result.stdout
    assert "--log-level LEVEL" in result.stdout
    assert "--scheduler / --no-scheduler  Run" in result.stdout


def test_ctrl_c_exits_130_without_traceback() -> None:
    """The signal is sent once the command waits for its payload on standard input (the
    kernel says so in ``/proc``), not after a guessed delay: a loaded machine may still be
    importing then. (That a command's exit code reaches the shell is also checked end to end,
    ``tests/e2e/test_cli_exit_codes.py``.)"""
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "scorecast", "schedule", "next", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wchan = Path(f"/proc/{process.pid}/wchan")
    deadline = time.monotonic() + 120
    while "pipe_read" not in wchan.read_text():  # blocked reading the pipe (anon_pipe_read)
        assert time.monotonic() < deadline, "the command never read its standard input"
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr


def _file(path: Path, text: str = "garbage\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class BadSetup(NamedTuple):
    """A ``serve`` that must stop at start with one line (``says``, ``{home}`` filled in)."""

    case: str
    code: int
    says: str
    env: dict[str, str] = {}  # never changed
    options: tuple[str, ...] = ()
    #: makes the scratch home unusable
    prepare: Callable[[Path], object] | None = None


def _db(url: str) -> dict[str, str]:
    return {"SCORECAST_DATABASE_URL": url}


BAD_SERVE_SETUPS = [
    BadSetup("key", 2, "SCORECAST_SECRET_KEY: not a Fernet", {"SCORECAST_SECRET_KEY": "bad"}),
    BadSetup(
        "key file", 2, "secret.key: not a Fernet key", prepare=lambda h: _file(h / "secret.key")
    ),
    BadSetup(
        "key folder",
        2,
        "secret.key: cannot use",
        prepare=lambda h: (h / "secret.key").mkdir(parents=True),
    ),
    BadSetup("home file", 2, "SCORECAST_HOME: {home} is not a folder", prepare=_file),
    BadSetup("uploads", 2, "{home}/uploads: not a folder", prepare=lambda h: _file(h / "uploads")),
    BadSetup(
        "demo",
        2,
        "{home}/demo is not a folder",
        options=("--demo",),
        prepare=lambda h: _file(h / "demo"),
    ),
    BadSetup(
        "store", 1, "{home}/scorecast.db: file is not", prepare=lambda h: _file(h / "scorecast.db")
    ),
    BadSetup(
        "psycopg2",
        2,
        "postgresql+psycopg2:// is not supported",
        _db("postgresql+psycopg2://u:pw@127.0.0.1/db"),
    ),
    BadSetup("asyncpg", 2, "postgresql+psycopg://", _db("postgresql+asyncpg://u:pw@127.0.0.1/db")),
    BadSetup("memory", 2, "in-memory SQLite store is not supported", _db("sqlite://")),
    BadSetup("log level", 2, "debug, info, warning, error", options=("--log-level", "loud")),
    BadSetup("lease", 2, "--lease-seconds", options=("--lease-seconds", "-1")),
    BadSetup("lease nan", 2, "--lease-seconds", options=("--lease-seconds", "nan")),
    BadSetup("lease inf", 2, "--lease-seconds", options=("--lease-seconds", "inf")),
    BadSetup("no role", 2, "--roles", options=("--roles", "scheduler", "--no-scheduler")),
    BadSetup("host", 2, "--host", options=("--host", "no-such-host.invalid")),
    BadSetup("file url", 2, "file:///folder", {"SCORECAST_STORAGE_URL": "file://relative/x"}),
    BadSetup("flag", 2, "must be true or false", {"SCORECAST_ALLOW_PICKLE_MODELS": "maybe"}),
    BadSetup("smtp", 2, "TCP port", {"SCORECAST_SMTP_PORT": "abc"}),
    BadSetup("hours", 2, "number of hours", {"SCORECAST_NOTIFICATION_RETRY_HOURS": "x"}),
    BadSetup("days", 2, "number of days", {"SCORECAST_NOTIFICATION_KEEP_DAYS": "-1"}),
    *(
        BadSetup(f"{name} {value}", 2, name, {name: value})
        for name in ("SCORECAST_DEBRIS_SWEEP_SECONDS", "SCORECAST_RETENTION_MAX_AGE_DAYS")
        for value in ("nan", "inf")
    ),
]


@pytest.mark.parametrize("setup", BAD_SERVE_SETUPS, ids=[s.case for s in BAD_SERVE_SETUPS])
def test_serve_stops_on_a_bad_setting_with_one_line(tmp_path: Path, setup: BadSetup) -> None:
    home = tmp_path / "home"
    if setup.prepare is not None:
        setup.prepare(home)
    env = {"SCORECAST_HOME": str(home), **setup.env}
    result = _scorecast("serve", "--port", "0", *setup.options, env=env)
    assert result.returncode == setup.code, result
    assert "Traceback" not in result.stderr
    assert "serving" not in result.stdout
    assert setup.says.format(home=home) in result.stderr, result.stderr
    assert "pw@" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr


def test_token_create_names_a_store_that_is_not_a_database(tmp_path: Path) -> None:
    _file(tmp_path / "scorecast.db")
    result = _scorecast("token", "create", env={"SCORECAST_HOME": str(tmp_path)})
    assert result.returncode == 1, result
    assert result.stderr == (
        f"error: cannot use the store {tmp_path / 'scorecast.db'}: file is not a database\n"
    )


def test_token_create_refuses_a_home_that_is_a_file(tmp_path: Path) -> None:
    _file(tmp_path / "home")
    result = _scorecast("token", "create", env={"SCORECAST_HOME": str(tmp_path / "home")})
    assert result.returncode == 2, result
    assert result.stderr == f"error: SCORECAST_HOME: {tmp_path / 'home'} is not a folder\n"
