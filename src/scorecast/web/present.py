"""How the console shows things: times, durations, schedules, specs, charts and pages.

Plain functions of store objects and values, used by the page routes and as Jinja2 filters;
nothing here reads the clock (``now`` is passed in) except through its callers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from scorecast.domain.schedule import Schedule, describe, parse_schedule
from scorecast.domain.schedule import next_fires as schedule_next_fires
from scorecast.domain.spec_secrets import without_secrets
from scorecast.errors import InvalidInput, NotFound
from scorecast.service import credentials, data_stores
from scorecast.service.caller import Caller
from scorecast.service.overview import DefinitionName
from scorecast.store.models import Job, JobDefinition
from scorecast.store.types import utcnow

TERMINAL = frozenset({"COMPLETED", "ABORTED", "FAILED"})
#: setting keys whose values are ids of other objects, shown by name
_REFERENCES = {"credentialId": "credential", "dataStoreId": "data store"}


def when(value: datetime | None) -> str:
    """A moment as ``2026-12-05 02:00:00 UTC`` (empty for none)."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """``1 h 02 min``, ``3 min 05 s``, ``12 s``."""
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def rows(value: float | int | None) -> str:
    """A count with thousands separators (``1,234,567``); a dash when unknown."""
    if value is None:
        return "—"
    return f"{round(value):,}"


def byte_size(count: int) -> str:
    """``5 GiB``, ``1.5 MiB``, ``512 bytes``; ``no limit`` for 0 (a limit setting's off value)."""
    if count <= 0:
        return "no limit"
    for unit, power in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << power:
            return f"{count / (1 << power):.4g} {unit}"
    return f"{count} bytes"


def day_range(field: str, value: str) -> tuple[datetime | None, datetime | None]:
    """The UTC day ``YYYY-MM-DD`` as [start, end); (None, None) when empty; InvalidInput
    naming ``field`` otherwise."""
    if not value:
        return None, None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.at(field, f"{value!r} is not a date (YYYY-MM-DD)") from None
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


def eta(seconds: float | None) -> str:
    return "—" if seconds is None else duration(seconds)


def job_seconds(job: Job, now: datetime | None = None) -> float | None:
    if job.started is None:
        return None
    end = job.finished or now or utcnow()
    return max(0.0, (end - job.started).total_seconds())


def progress(job: Job) -> dict[str, Any]:
    """A job's live figures, as the console's event stream sends them."""
    return {
        "id": job.id,
        "status": job.status,
        "statusDetails": job.status_details,
        "percentage": round(float(job.percentage_completed or 0.0), 1),
        "scoredRows": job.scored_rows,
        "failedRows": job.failed_rows,
        "skippedRows": job.skipped_rows,
        "rowsPerSecond": rows(job.rows_per_second),
        "eta": eta(job.eta_seconds),
        "elapsed": duration(job_seconds(job)),
        "finished": job.status in TERMINAL,
        "downloadable": downloadable(job),
    }


def downloadable(job: Job) -> bool:
    output = job.spec.get("outputSettings") or {}
    return (
        job.status == "COMPLETED" and output.get("type") == "localFile" and not job.results_deleted
    )


@dataclass(frozen=True)
class DefinitionRow:
    definition: JobDefinition
    schedule_text: str
    timezone: str
    warnings: list[str]


def definition_row(definition: JobDefinition) -> DefinitionRow:
    """A definition with its schedule in words (or why it has none)."""
    if definition.schedule is None:
        return DefinitionRow(definition, "No schedule (runs only when started)", "", [])
    try:
        schedule = parse_schedule(definition.schedule)
    except InvalidInput as exc:
        return DefinitionRow(definition, f"Schedule not readable: {exc.message}", "", [])
    text = describe(schedule, utcnow())
    return DefinitionRow(definition, text.text, schedule.timezone or "UTC", text.warnings)


def readable_schedule(payload: Mapping[str, Any] | None) -> Schedule | None:
    """A stored schedule, or None without one or when it no longer parses (the page says why)."""
    if payload is None:
        return None
    try:
        return parse_schedule(payload)
    except InvalidInput:
        return None


@dataclass(frozen=True)
class NextFire:
    utc: datetime
    local: str
    shifted: bool  # the local offset differs from the first fire's: a DST change lies between


def next_fires(
    schedule_payload: Mapping[str, Any] | None, now: datetime, count: int
) -> list[NextFire]:
    """The next ``count`` fires in UTC and in the schedule's zone."""
    if schedule_payload is None:
        return []
    try:
        schedule = parse_schedule(schedule_payload)
    except InvalidInput:
        return []
    zone = ZoneInfo(schedule.timezone) if schedule.timezone else None
    fires = schedule_next_fires(schedule, now, count)
    result: list[NextFire] = []
    first_offset: timedelta | None = None
    for moment in fires:
        if zone is None:
            result.append(NextFire(moment, when(moment), False))
            continue
        local = moment.astimezone(zone)
        offset = local.utcoffset()
        first_offset = offset if first_offset is None else first_offset
        label = local.strftime("%Y-%m-%d %H:%M:%S %Z")
        result.append(NextFire(moment, label, offset != first_offset))
    return result


@dataclass(frozen=True)
class SpecRow:
    key: str
    value: str


def spec_rows(session: Session, caller: Caller, spec: Mapping[str, Any]) -> list[SpecRow]:
    """A job spec as ``key: value`` lines, with credentials and data stores by name and
    without the secrets a spec stored long ago may hold (as the API serializers drop them)."""
    found: list[SpecRow] = []
    _flatten(session, caller, without_secrets(spec), "", found)
    return found


def _flatten(
    session: Session, caller: Caller, value: Any, prefix: str, found: list[SpecRow]
) -> None:
    if isinstance(value, Mapping):
        for key in sorted(value):
            name = f"{prefix}.{key}" if prefix else str(key)
            if key in _REFERENCES and isinstance(value[key], str):
                found.append(SpecRow(name, _reference(session, caller, key, value[key])))
            else:
                _flatten(session, caller, value[key], name, found)
        return
    if isinstance(value, list):
        found.append(SpecRow(prefix, ", ".join(str(item) for item in value) or "(none)"))
        return
    if value is not None:  # an unset option says nothing: leave it out
        found.append(SpecRow(prefix, str(value)))


def _reference(session: Session, caller: Caller, key: str, object_id: str) -> str:
    kind = _REFERENCES[key]
    try:
        if key == "credentialId":
            return f"{credentials.get_credential(session, caller, object_id).name} ({object_id})"
        store = data_stores.get_data_store(session, caller, object_id)
        return f"{store.canonical_name} ({object_id})"
    except NotFound:  # a deleted object is shown as such, never as an error
        return f"{kind} {object_id} (deleted)"


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    height: float
    y: float
    label: str
    status: str
    rows_y: float  # where the job's rows scored sit on the rows scale (the line)

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True)
class Chart:
    """Bars of a definition's recent jobs (oldest left): duration as bars, rows scored as a
    line on a scale of its own."""

    bars: list[Bar]
    width: int
    height: int
    max_seconds: float
    max_rows: int

    @property
    def rows_line(self) -> str:
        """The SVG ``points`` of the rows-scored line."""
        return " ".join(f"{bar.middle},{bar.rows_y}" for bar in self.bars)


def job_chart(jobs: Sequence[Job], width: int = 600, height: int = 120) -> Chart:
    ordered = [job for job in reversed(jobs) if job.started is not None]
    longest = max((job_seconds(job) or 0.0 for job in ordered), default=0.0) or 1.0
    most_rows = max((job.scored_rows or 0 for job in ordered), default=0)
    rows_scale = most_rows or 1
    slot = width / max(len(ordered), 20)  # a few jobs make thin bars, not a wall
    bars = []
    for index, job in enumerate(ordered):
        seconds = job_seconds(job) or 0.0
        bar_height = max(2.0, (height - 10) * seconds / longest)
        label = (
            f"{when(job.created)}: {job.status}, {duration(seconds)}, {rows(job.scored_rows)} rows"
        )
        bars.append(
            Bar(
                x=index * slot + 1,
                width=max(slot - 2, 1),
                height=bar_height,
                y=height - bar_height,
                label=label,
                status=job.status.lower(),
                rows_y=round(height - 4 - (height - 10) * (job.scored_rows or 0) / rows_scale, 2),
            )
        )
    return Chart(bars, width, height, longest, most_rows)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    definition: DefinitionName
    moment: datetime


def timeline(upcoming: Sequence[Any], now: datetime, horizon: timedelta) -> list[Tick]:
    """Upcoming fires placed on a 0-100 % axis of the next ``horizon``."""
    span = horizon.total_seconds()
    return [
        Tick(
            x=round(100 * (fire.moment - now).total_seconds() / span, 2),
            label=f"{fire.definition.name} at {when(fire.moment)}",
            definition=fire.definition,
            moment=fire.moment,
        )
        for fire in upcoming
    ]


@dataclass(frozen=True)
class Pager:
    """Server-side pagination: where this page starts and links to its neighbours."""

    offset: int
    limit: int
    total: int
    params: Mapping[str, str]
    #: the count stopped at ``total``: there are more (shown as "more than total - 1")
    capped: bool = False

    @property
    def total_text(self) -> str:
        return f"more than {self.total - 1:,}" if self.capped else f"{self.total:,}"

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)

    def _link(self, offset: int) -> str:
        query = {k: v for k, v in self.params.items() if v}
        query["offset"] = str(offset)
        return "?" + urlencode(query)

    def here(self, path: str) -> str:
        """``path`` with this page's query (its parameters and offset, when not 0)."""
        query = {k: v for k, v in self.params.items() if v}
        if self.offset:
            query["offset"] = str(self.offset)
        return f"{path}?{urlencode(query)}" if query else path

    @property
    def previous(self) -> str | None:
        return self._link(max(self.offset - self.limit, 0)) if self.offset > 0 else None

    @property
    def next(self) -> str | None:
        more = self.capped or self.last < self.total  # capped: past this page there are more
        return self._link(self.offset + self.limit) if more else None
