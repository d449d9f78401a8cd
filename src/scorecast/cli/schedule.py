"""``scorecast schedule``: preview a schedule payload (next fire times, plain-English text)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from scorecast.cli.groups import command_group
from scorecast.domain.schedule import (
    Schedule,
    describe,
    never_fires,
    next_fires,
    parse_schedule,
)
from scorecast.errors import InvalidInput

#: the most fire times ``schedule next`` prints (each costs a search; a million took seconds
#: and hundreds of megabytes)
MAX_COUNT = 1000

app = command_group(help="Preview a schedule: its next fire times and a plain-English description.")

_PAYLOAD_HELP = (
    'The schedule as a JSON object, e.g. \'{"minute": [0], "hour": [16], "dayOfMonth": ["*"],'
    ' "month": ["*"], "dayOfWeek": ["mon"]}\'; "-" reads it from standard input.'
)


def _load(payload: str) -> Schedule:
    text = sys.stdin.read() if payload == "-" else payload
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"PAYLOAD is not valid JSON ({exc.msg} at character {exc.pos})",
            {"schedule": f"not valid JSON: {exc.msg}"},
        ) from None
    except RecursionError:
        raise InvalidInput(
            "PAYLOAD is not valid JSON (nested too deeply)",
            {"schedule": "not valid JSON: nested too deeply"},
        ) from None
    return parse_schedule(data)


def _parse_after(after: str | None) -> datetime:
    if after is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(after)
    except ValueError:
        raise InvalidInput(
            f"--after: {after!r} is not an ISO-8601 date-time (e.g. 2026-12-01T16:00:00Z)",
            {"after": f"{after!r} is not an ISO-8601 date-time"},
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _never_reason(schedule: Schedule) -> str:
    reasons = [w for w in describe(schedule).warnings if w.startswith("never fires")]
    return reasons[0] if reasons else "never fires"


@app.command("next")
def next_command(
    payload: Annotated[
        str, typer.Argument(metavar="PAYLOAD", help=_PAYLOAD_HELP, show_default=False)
    ],
    after: Annotated[
        str | None,
        typer.Option(
            metavar="MOMENT",
            help="Print fires strictly after this ISO-8601 moment (naive = UTC). Default: now.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int, typer.Option(metavar="N", help=f"How many fire times to print (at most {MAX_COUNT}).")
    ] = 10,
) -> None:
    """Print the next fire times, one per line, as ISO-8601 UTC (2026-12-01T16:00:00Z)."""
    schedule = _load(payload)
    moment = _parse_after(after)
    if count < 0:
        raise InvalidInput(f"--count: {count} is negative", {"count": f"{count} is negative"})
    if count > MAX_COUNT:
        raise InvalidInput(
            f"--count: {count} is more than {MAX_COUNT}", {"count": f"more than {MAX_COUNT}"}
        )
    if never_fires(schedule):
        typer.echo(f"schedule {_never_reason(schedule)}", err=True)
        return
    fires = next_fires(schedule, moment, count)
    if fires:
        lines = [fire.replace(tzinfo=None).isoformat(timespec="seconds") for fire in fires]
        sys.stdout.write("Z\n".join(lines) + "Z\n")
        sys.stdout.flush()
    if len(fires) < count:
        typer.echo(f"only {len(fires)} fire time(s) before the year 10000", err=True)


@app.command("describe")
def describe_command(
    payload: Annotated[
        str, typer.Argument(metavar="PAYLOAD", help=_PAYLOAD_HELP, show_default=False)
    ],
) -> None:
    """Print the schedule in plain English, then one line per warning."""
    schedule = _load(payload)
    description = describe(schedule, now=datetime.now(UTC))
    typer.echo(description.text)
    for warning in description.warnings:
        typer.echo(f"warning: {warning}")
