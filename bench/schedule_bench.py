"""Schedule engine speed against croniter and cronsim, measured in one run.

1. next fire for N random schedules (default 100,000), each from its own random moment:
   scorecast parse + next_fire_after vs croniter (``day_or=True``) and cronsim constructing
   and advancing the equivalent cron expression once; then next_fire_after alone on parsed
   schedules vs croniter re-seated with ``set_current`` + ``get_next`` on built iterators.
   Every answer is compared with croniter's; a mismatch aborts the run.
2. The same schedules in Europe/London (our zone path), informational: croniter and cronsim
   get zone-aware moments (their DST rules differ from our policies, so answers are not compared).
3. The next 50,000 fires of one schedule through the ``scorecast schedule next`` console script
   (a fresh process, start-up included) vs a croniter loop doing the same in this process.

Usage: python bench/schedule_bench.py [--schedules N] [--fires N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import cronsim
from croniter import croniter

from scorecast.domain.schedule import EVERY, next_fire_after, parse_schedule
from scorecast.domain.schedule.fields import MONTH_NAMES, WEEKDAY_NAMES

RANGES = {"minute": (0, 59), "hour": (0, 23), "dayOfMonth": (1, 31), "month": (1, 12)}
RANGES["dayOfWeek"] = (0, 6)


def random_field(rng: random.Random, key: str) -> list[Any]:
    if rng.random() < 0.35:
        return ["*"]
    low, high = RANGES[key]
    values: list[Any] = rng.sample(range(low, high + 1), rng.randint(1, min(4, high - low + 1)))
    if key == "month" and rng.random() < 0.3:
        values = [MONTH_NAMES[v - 1][:3] for v in values]
    if key == "dayOfWeek" and rng.random() < 0.3:
        values = [WEEKDAY_NAMES[v] for v in values]
    return values


def cron(payload: dict[str, Any]) -> str:
    schedule = parse_schedule(payload)
    fields = (
        schedule.minute,
        schedule.hour,
        schedule.day_of_month,
        schedule.month,
        schedule.day_of_week,
    )
    return " ".join("*" if f == EVERY else ",".join(map(str, f)) for f in fields)


def make_cases(count: int, seed: int) -> list[tuple[dict[str, Any], str, datetime]]:
    rng = random.Random(seed)
    cases: list[tuple[dict[str, Any], str, datetime]] = []
    start = datetime(2000, 1, 1, tzinfo=UTC)
    while len(cases) < count:
        payload = {key: random_field(rng, key) for key in RANGES}
        if parse_schedule(payload).never:
            continue  # croniter raises on these; they are free for us anyway
        moment = start + timedelta(seconds=rng.randrange(40 * 365 * 86400))
        cases.append((payload, cron(payload), moment))
    return cases


def timed(label: str, count: int, work: Callable[[], list[Any]]) -> tuple[float, list[Any]]:
    began = time.perf_counter()
    results = work()
    per_call = (time.perf_counter() - began) / count * 1e6
    print(f"  {label:<52} {per_call:8.2f} µs/call")
    return per_call, results


def bench_utc(cases: list[tuple[dict[str, Any], str, datetime]]) -> None:
    n = len(cases)
    print(f"\n1. next fire of {n:,} random schedules, UTC")
    ours, got = timed(
        "scorecast parse_schedule + next_fire_after",
        n,
        lambda: [next_fire_after(parse_schedule(p), m) for p, _, m in cases],
    )
    theirs, expected = timed(
        "croniter(expr, moment, day_or=True).get_next",
        n,
        lambda: [croniter(e, m, day_or=True).get_next(datetime) for _, e, m in cases],
    )
    sim, simmed = timed(
        "next(cronsim.CronSim(expr, moment))",
        n,
        lambda: [next(cronsim.CronSim(e, m)) for _, e, m in cases],
    )
    wrong = sum(a != b for a, b in zip(got, expected, strict=True))
    wrong_sim = sum(a != b for a, b in zip(simmed, expected, strict=True))
    if wrong or wrong_sim:
        sys.exit(f"MISMATCH: {wrong} answers differ from croniter ({wrong_sim} for cronsim)")
    print(f"  all {n:,} answers equal croniter's and cronsim's")
    print(
        f"  ratio croniter/scorecast {theirs / ours:6.1f}x   cronsim/scorecast {sim / ours:6.1f}x"
    )

    schedules = [parse_schedule(p) for p, _, _ in cases]
    iterators = [croniter(e, m, day_or=True) for _, e, m in cases]
    moments = [m for _, _, m in cases]
    pairs = list(zip(schedules, moments, strict=True))
    advance, _ = timed(
        "scorecast next_fire_after on parsed schedules",
        n,
        lambda: [next_fire_after(s, m) for s, m in pairs],
    )

    def reseated() -> list[Any]:
        out = []
        for it, moment in zip(iterators, moments, strict=True):
            it.set_current(moment, force=True)
            out.append(it.get_next(datetime))
        return out

    theirs_advance, _ = timed("croniter set_current + get_next on built iterators", n, reseated)
    print(f"  ratio croniter/scorecast {theirs_advance / advance:6.1f}x")


def bench_zone(cases: list[tuple[dict[str, Any], str, datetime]]) -> None:
    zone = ZoneInfo("Europe/London")
    n = len(cases)
    print(f"\n2. next fire of {n:,} random schedules in Europe/London (informational)")
    zoned = [({**p, "timezone": "Europe/London"}, e, m.astimezone(zone)) for p, e, m in cases]
    ours, _ = timed(
        "scorecast parse_schedule + next_fire_after",
        n,
        lambda: [next_fire_after(parse_schedule(p), m) for p, _, m in zoned],
    )
    theirs, _ = timed(
        "croniter(expr, aware moment).get_next",
        n,
        lambda: [croniter(e, m, day_or=True).get_next(datetime) for _, e, m in zoned],
    )
    sim, _ = timed(
        "next(cronsim.CronSim(expr, aware moment))",
        n,
        lambda: [next(cronsim.CronSim(e, m)) for _, e, m in zoned],
    )
    print(
        f"  ratio croniter/scorecast {theirs / ours:6.1f}x   cronsim/scorecast {sim / ours:6.1f}x"
    )


def bench_cli(fires: int) -> None:
    payload = {"minute": [0, 30], "hour": ["*"], "dayOfMonth": ["*"], "month": ["*"]}
    payload["dayOfWeek"] = ["mon", "tue", "wed", "thu", "fri"]
    after = datetime(2026, 1, 1, tzinfo=UTC)
    print(f"\n3. next {fires:,} fires of {cron(payload)!r}")
    args = [sys.executable, "-m", "scorecast", "schedule", "next", json.dumps(payload)]
    args += ["--after", "2026-01-01T00:00:00Z", "--count", str(fires)]
    began = time.perf_counter()
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    cli_seconds = time.perf_counter() - began
    began = time.perf_counter()
    iterator = croniter(cron(payload), after, day_or=True)
    expected = [iterator.get_next(datetime) for _ in range(fires)]
    croniter_seconds = time.perf_counter() - began
    lines = output.splitlines()
    wanted = [f.strftime("%Y-%m-%dT%H:%M:%SZ") for f in expected]
    if lines != wanted:
        sys.exit("MISMATCH: the CLI's fires differ from croniter's")
    print(f"  scorecast schedule next --count {fires} (new process)  {cli_seconds:8.3f} s")
    print(f"  croniter get_next loop (in this process)             {croniter_seconds:8.3f} s")
    print(f"  ratio croniter/scorecast-CLI {croniter_seconds / cli_seconds:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("--fires", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2026)
    options = parser.parse_args()
    cases = make_cases(options.schedules, options.seed)
    bench_utc(cases)
    bench_zone(cases[: max(1, options.schedules // 5)])
    bench_cli(options.fires)


if __name__ == "__main__":
    main()
