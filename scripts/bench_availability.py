#!/usr/bin/env python
"""Benchmark the pure slot engine (booking/scheduling/engine.py) on a realistic clinic.

Builds N days for P practitioners (Mon-Fri 08:00-18:00, Sat 09:00-13:00, about 8
bookings a day each, a few time-off blocks, one public holiday) and times the full
pipeline a booking page runs: working_windows + free_slots for every practitioner via
slots_by_practitioner. No Django, no database.

    python scripts/bench_availability.py                     # 60 days x 5 and x 20
    python scripts/bench_availability.py --json              # machine-readable
    python scripts/bench_availability.py -p 50 --max-ms 50   # exit 1 if slower than 50 ms

Another script can call ``main(["--json"])``: it returns the same dict it prints.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import timeit
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# Runnable as a plain script from anywhere: make the repo root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from booking.scheduling.engine import (  # noqa: E402
    Interval,
    WeeklyHours,
    slots_by_practitioner,
    working_windows,
)

TZ = ZoneInfo("America/Toronto")
FIRST_DAY = date(2026, 3, 2)  # a Monday; 60 days from here cross the 2026-03-08 DST change
SERVICE = timedelta(minutes=60)
SERVICE_BUFFER = timedelta(minutes=15)
NOTICE = timedelta(hours=24)


def build_clinic(days: int, practitioners: int, seed: int = 42):
    """Return (hours, closed_days, busy) for a deterministic fake clinic."""
    rng = random.Random(seed)
    hours: list[WeeklyHours] = []
    for pid in range(1, practitioners + 1):
        location = None if pid % 4 == 0 else 1 + pid % 3  # every 4th one works telehealth
        hours += [WeeklyHours(pid, wd, time(8), time(18), location) for wd in range(5)]
        hours.append(WeeklyHours(pid, 5, time(9), time(13), location))

    last_day = FIRST_DAY + timedelta(days=days - 1)
    closed_days = {FIRST_DAY + timedelta(days=days // 2)}  # one public holiday mid-range

    def local(day: date, minutes: int) -> datetime:
        return datetime.combine(day, time(0), tzinfo=TZ).astimezone(UTC) + timedelta(minutes=minutes)

    busy: dict[int, list[Interval]] = {}
    for pid in range(1, practitioners + 1):
        blocks: list[Interval] = []
        day = FIRST_DAY
        while day <= last_day:
            open_min, close_min = (8 * 60, 18 * 60) if day.weekday() < 5 else (9 * 60, 13 * 60)
            if day.weekday() < 6:
                # Fill the day front to back with short random gaps: ~8 bookings on a
                # weekday, ~3 on Saturday, each with its own 0-15 min buffer.
                start = open_min
                for _ in range(8 if day.weekday() < 5 else 3):
                    start += rng.choice([0, 0, 5, 15, 15, 30])
                    length = rng.choice([30, 45, 60])
                    own_buffer = rng.choice([0, 10, 15])
                    if start + length > close_min:
                        break
                    blocks.append((local(day, start), local(day, start + length + own_buffer)))
                    start += length + own_buffer
            day += timedelta(days=1)
        # A few time-off blocks: a half day for everyone, a 3-day leave for some, an
        # overnight block (evening to next mid-morning) for others.
        off = FIRST_DAY + timedelta(days=rng.randrange(days))
        blocks.append((local(off, 12 * 60), local(off, 18 * 60)))
        if pid % 3 == 0:
            leave = FIRST_DAY + timedelta(days=rng.randrange(max(days - 3, 1)))
            blocks.append((local(leave, 0), local(leave + timedelta(days=3), 0)))
        if pid % 3 == 1:
            night = FIRST_DAY + timedelta(days=rng.randrange(days))
            blocks.append((local(night, 20 * 60), local(night + timedelta(days=1), 10 * 60)))
        rng.shuffle(blocks)  # the engine must not rely on sorted input
        busy[pid] = blocks
    return hours, closed_days, busy


def run_pipeline(hours, closed_days, busy, days: int) -> dict[datetime, list[int]]:
    first, last = FIRST_DAY, FIRST_DAY + timedelta(days=days - 1)
    windows = working_windows(hours, first, last, TZ, closed_days)
    now = datetime.combine(first, time(7, 30), tzinfo=TZ).astimezone(UTC)
    return slots_by_practitioner(
        windows,
        busy,
        duration=SERVICE,
        buffer=SERVICE_BUFFER,
        not_before=now + NOTICE,
        not_after=datetime.combine(last, time(23, 59), tzinfo=TZ).astimezone(UTC),
        tz=TZ,
    )


def bench(days: int, practitioners: int, repeat: int = 5) -> dict:
    hours, closed_days, busy = build_clinic(days, practitioners)
    result = run_pipeline(hours, closed_days, busy, days)
    timer = timeit.Timer(lambda: run_pipeline(hours, closed_days, busy, days))
    number, _ = timer.autorange()  # enough loops per repeat for ~0.2 s, so timer noise is small
    per_call_ms = [total / number * 1000 for total in timer.repeat(repeat=repeat, number=number)]
    return {
        "days": days,
        "practitioners": practitioners,
        "bookings_and_time_off": sum(len(v) for v in busy.values()),
        "distinct_starts": len(result),
        "practitioner_slots": sum(len(v) for v in result.values()),
        "loops": number,
        "repeats": repeat,
        "best_ms": round(min(per_call_ms), 3),
        "median_ms": round(statistics.median(per_call_ms), 3),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("-p", "--practitioners", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--max-ms", type=float, help="exit with status 1 if a best time is above this")
    args = parser.parse_args(argv)

    runs = [bench(args.days, p, args.repeat) for p in args.practitioners]
    report = {
        "benchmark": "availability",
        "python": sys.version.split()[0],
        "pipeline": "working_windows + slots_by_practitioner (free_slots per practitioner)",
        "runs": runs,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for r in runs:
            print(
                f"availability {r['days']} days x {r['practitioners']} practitioners: "
                f"best {r['best_ms']:.1f} ms, median {r['median_ms']:.1f} ms "
                f"({r['bookings_and_time_off']} busy blocks, {r['distinct_starts']} distinct starts)"
            )
    if args.max_ms is not None and any(r["best_ms"] > args.max_ms for r in runs):
        print(f"FAIL: slower than {args.max_ms} ms", file=sys.stderr)
        raise SystemExit(1)
    return report


if __name__ == "__main__":
    main()
