"""Placeholders in intake and output locations: ``s3://bucket/{scheduled_time:%Y/%m/%d}/out.csv``.

A location (an adapter's ``url``, ``table`` or ``schema``) may hold ``{name}`` or
``{name:format}`` placeholders, filled when the job runs. ``{{`` and ``}}`` are literal braces.
Every placeholder has a value on every kind of run (``PLACEHOLDERS``). Time placeholders render
in UTC as ``DEFAULT_TIME_FORMAT`` (ISO 8601 basic: no colons, no ``+00:00``, safe in file names
and object keys, sorts in time order), or with a ``strftime`` format after the colon. Only time
placeholders take a format. An unknown placeholder, a conversion (``!r``), a nested field or an
unbalanced brace is a problem reported at submit (``template_problems``), never written
literally.

Values are passed as strings (``ConnectorContext.template``): times as ISO 8601 with an offset.

A JDBC intake's ``query`` is SQL, where braces have meanings of their own (PostgreSQL array
literals, JSON): there only the placeholders named in ``PLACEHOLDERS`` are filled
(``render_known``), any other brace is left as written, and doubled braces mean nothing special.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

#: Every placeholder and its value, on each kind of run.
PLACEHOLDERS: Final = {
    "job_id": "the job's id",
    "attempt": "the attempt number: 1, then 2, ... when a job runs again after a worker died",
    "scheduled_time": (
        "a scheduled run's scheduled time (the fire time); on any other run (a manual run of "
        "a definition, a job submitted through the API) the time the job was created"
    ),
    "created_time": "the time the job was created",
}
TIME_PLACEHOLDERS: Final = frozenset({"scheduled_time", "created_time"})
#: The ``strftime`` codes a time placeholder's format may use: the C library's (glibc, on
#: which scorecast runs) and Python's ``%f``; ``%%`` is a literal ``%``. glibc's flags and
#: width (``%-d``, ``%_3j``) and its ``E``/``O`` modifiers are allowed before a code.
TIME_DIRECTIVES: Final = frozenset("aAbBcCdDeFfgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%")
#: ``20240504T030000Z``: ISO 8601 basic format, UTC.
DEFAULT_TIME_FORMAT: Final = "%Y%m%dT%H%M%SZ"
#: Values that let a location be checked at submit, before the job has real ones.
SAMPLE_VALUES: Final = {
    "job_id": "000000000000000000000000",
    "attempt": "1",
    "scheduled_time": "2000-01-01T00:00:00+00:00",
    "created_time": "2000-01-01T00:00:00+00:00",
}

_FORMATTER: Final = string.Formatter()
#: one ``strftime`` directive: ``%``, glibc's flag, width and modifier, the code (empty at the end)
_DIRECTIVE: Final = re.compile(r"%[-_0^#]?[0-9]*[EO]?(.?)", re.DOTALL)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)
#: a known placeholder in SQL text: ``{name}`` or ``{name:format}`` (no brace in the format)
_KNOWN: Final = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")(?::([^{}]*))?\}")


class TemplateError(ValueError):
    """A location template that cannot be filled; the message says why (see module doc)."""


def valid_placeholders() -> str:
    """The placeholder names, for messages: ``{attempt}, {created_time}, ...``."""
    return ", ".join(f"{{{name}}}" for name in sorted(PLACEHOLDERS))


def template_problems(text: str) -> list[str]:
    """What is wrong with ``text`` as a template (empty when it can be filled)."""
    try:
        fields = list(_FORMATTER.parse(text))
    except ValueError as exc:
        return [f"{exc} (write {{{{ and }}}} for literal braces)"]
    problems: list[str] = []
    unknown: list[str] = []
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            unknown.append("{}" if name == "" else f"{{{name}}}")
        elif conversion is not None:
            problems.append(f"placeholder {{{name}}} takes no !{conversion} conversion")
        elif spec and name not in TIME_PLACEHOLDERS:
            problems.append(f"placeholder {{{name}}} takes no format (only time placeholders do)")
        elif spec and ("{" in spec or "}" in spec):
            problems.append(f"the format of {{{name}}} must not contain braces")
        elif spec and (wrong := _unknown_directive(spec)) is not None:
            problems.append(_directive_problem(name, wrong))
    if unknown:
        names = ", ".join(dict.fromkeys(unknown))
        noun = "placeholder" if len(set(unknown)) == 1 else "placeholders"
        problems.insert(0, f"unknown {noun} {names}; valid: {valid_placeholders()}")
    return problems


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders filled from ``values``; ``TemplateError`` if it cannot be.

    ``values`` holds every name of ``PLACEHOLDERS``; time values are ISO 8601 strings.
    """
    problems = template_problems(text)
    if problems:
        raise TemplateError("; ".join(problems))
    parts: list[str] = []
    for literal, name, spec, _ in _FORMATTER.parse(text):
        parts.append(literal)
        if name is None:
            continue
        if name not in values:
            raise TemplateError(f"no value for placeholder {{{name}}}")
        value = values[name]
        if name in TIME_PLACEHOLDERS:
            value = format_time(value, spec or DEFAULT_TIME_FORMAT)
        parts.append(value)
    return "".join(parts)


def known_placeholder_problems(text: str) -> list[str]:
    """What is wrong with the known placeholders of SQL ``text`` (see the module docstring)."""
    problems = []
    for match in _KNOWN.finditer(text):
        name, spec = match[1], match[2]
        if spec is not None and name not in TIME_PLACEHOLDERS:
            problems.append(f"placeholder {{{name}}} takes no format (only time placeholders do)")
        elif spec and (wrong := _unknown_directive(spec)) is not None:
            problems.append(_directive_problem(name, wrong))
    return problems


def render_known(text: str, values: Mapping[str, str]) -> str:
    """SQL ``text`` with its known placeholders filled from ``values``, every other brace as
    written; ``TemplateError`` for a format on a placeholder that takes none."""
    problems = known_placeholder_problems(text)
    if problems:
        raise TemplateError("; ".join(problems))

    def value(match: re.Match[str]) -> str:
        name, spec = match[1], match[2]
        if name in TIME_PLACEHOLDERS:
            return format_time(values[name], spec or DEFAULT_TIME_FORMAT)
        return values[name]

    return _KNOWN.sub(value, text)


def _unknown_directive(layout: str) -> str | None:
    """The first ``%`` directive of a time format that is not one of ``TIME_DIRECTIVES`` (a
    lone ``%`` at the end counts), else None. Python hands an unknown one to the C library,
    which writes it as it is: ``{scheduled_time:%Q}`` wrote files named ``%Q.csv``."""
    for found in _DIRECTIVE.finditer(layout):
        if found[1] not in TIME_DIRECTIVES or not found[1]:
            return found[0]
    return None


def _directive_problem(name: str, directive: str) -> str:
    known = " ".join("%" + letter for letter in sorted(TIME_DIRECTIVES, key=str.lower))
    return f"the format of {{{name}}} has {directive!r}, not a time code; use: {known}"


def format_time(iso: str, layout: str) -> str:
    """An ISO 8601 time (naive means UTC) rendered in UTC with ``strftime`` ``layout``, the same
    whatever the time zone of the server process (``TZ``)."""
    moment = _utc(datetime.fromisoformat(iso))
    layout = _DIRECTIVE.sub(lambda found: _zone_free(found, moment), layout)
    # The C library's strftime ends the format at a NUL: render the text between them.
    return "\0".join(moment.strftime(piece) for piece in layout.split("\0"))


def _zone_free(found: re.Match[str], moment: datetime) -> str:
    """A directive that the C library would render from the process's time zone, rendered for
    UTC; any other directive as it is (``strftime`` renders it next)."""
    code = found[1]
    if code == "s":
        # glibc's %s is mktime() of the fields, which reads them in the process's zone: hand
        # it the process's local fields of the moment's own epoch second (flags still apply).
        return time.strftime(found[0], time.localtime((moment - _EPOCH) // _SECOND))
    if code in {"z", "Z"}:
        # Python fills a bare %z or %Z itself; with a flag (%-z, %#Z) glibc renders it, and
        # only from fields that name the zone (the offset 0, not daylight time).
        return time.strftime(found[0], time.struct_time((*moment.timetuple()[:8], 0, "UTC", 0)))
    return found[0]


def run_values(
    job_id: str, attempt: int, created: datetime, scheduled: datetime | None
) -> dict[str, str]:
    """The placeholder values of one run (see ``PLACEHOLDERS``); naive times are UTC."""
    created_iso = _utc(created).isoformat()
    return {
        "job_id": job_id,
        "attempt": str(attempt),
        "scheduled_time": _utc(scheduled).isoformat() if scheduled is not None else created_iso,
        "created_time": created_iso,
    }


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
