"""Pure slot engine: which appointment start times can a patient pick?

Everything here works on plain data (dataclasses, tuples, aware datetimes) and imports
nothing from Django, so it can be tested and benchmarked without a database or settings.
The thin database and cache adapter that feeds it is ``booking/scheduling/availability.py``.

Conventions
-----------
* An ``Interval`` is a half-open ``[start, end)`` pair of *aware* datetimes in UTC.
  Half-open means a booking ending at 10:00 and one starting at 10:00 do not clash.
* All arithmetic is done in UTC (real elapsed time); local wall-clock time is only
  used where a human reads the clock: expanding weekly opening hours and snapping
  starts to a grid (10:07 -> 10:15 on the clinic's clock, whatever the UTC offset).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "Interval",
    "WeeklyHours",
    "free_slots",
    "group_by_local_date",
    "slots_by_practitioner",
    "working_windows",
]


@dataclass(frozen=True)
class WeeklyHours:
    practitioner_id: int
    weekday: int  # 0 = Monday
    start: time  # local wall-clock time in the clinic's zone
    end: time  # > start (same day)
    location_id: int | None  # None = telehealth hours


Interval = tuple[datetime, datetime]  # aware datetimes in UTC, half-open [start, end)

_ONE_DAY = timedelta(days=1)


def _utc(dt: datetime, what: str) -> datetime:
    # A naive datetime would silently be read as the *server's* local time by
    # astimezone(); refuse it instead of producing slots an hour off.
    tz = dt.tzinfo
    if tz is UTC:  # the common case (values from the DB / working_windows): no work
        return dt
    if tz is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got naive {dt!r}")
    return dt.astimezone(UTC)


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sort and merge overlapping *or touching* intervals (half-open, so [9,10)+[10,11) = [9,11))."""
    if not intervals:
        return []
    intervals.sort()
    merged: list[Interval] = []
    cur_start, cur_end = intervals[0]
    for start, end in intervals[1:]:
        if start <= cur_end:
            if end > cur_end:
                cur_end = end
        else:
            merged.append((cur_start, cur_end))
            cur_start, cur_end = start, end
    merged.append((cur_start, cur_end))
    return merged


def working_windows(
    hours: Iterable[WeeklyHours],
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    closed_days: Collection[date] = (),
) -> dict[int, list[Interval]]:
    """Expand weekly hours into concrete UTC intervals per practitioner for each local date in
    [first_day, last_day], skipping closed days; merged and sorted. Correct across DST: 09:00 local is 09:00
    local on both sides of a change (build with datetime.combine(day, t, tzinfo=tz) then convert to UTC).

    Every practitioner that has any weekly hours gets a key, even if all their days in the
    range are closed (empty list), so callers can tell "fully booked" from "unknown".
    Windows of different locations are merged too: the engine only answers "is this
    practitioner working", the location is the caller's concern.
    """
    # Index by weekday once, so the day loop is O(days * rows for that weekday)
    # instead of O(days * all rows).
    by_weekday: list[list[WeeklyHours]] = [[] for _ in range(7)]
    result: dict[int, list[Interval]] = {}
    for h in hours:
        if not 0 <= h.weekday <= 6:
            raise ValueError(f"weekday must be 0..6 (Monday=0), got {h.weekday} for {h!r}")
        if h.end <= h.start:
            raise ValueError(f"weekly hours must end after they start on the same day: {h!r}")
        by_weekday[h.weekday].append(h)
        result.setdefault(h.practitioner_id, [])

    closed = closed_days if isinstance(closed_days, (set, frozenset)) else set(closed_days)
    day = first_day
    while day <= last_day:
        if day not in closed:
            for h in by_weekday[day.weekday()]:
                # combine() with tzinfo keeps the *wall-clock* time, so 09:00 stays 09:00 on
                # both sides of a DST change; only the UTC instant moves. A wall time that
                # falls in a spring-forward gap resolves with fold=0 (the pre-change offset).
                start = datetime.combine(day, h.start, tzinfo=tz).astimezone(UTC)
                end = datetime.combine(day, h.end, tzinfo=tz).astimezone(UTC)
                if end > start:  # a window wholly inside a DST gap has no real time in it
                    result[h.practitioner_id].append((start, end))
        day += _ONE_DAY

    return {pid: _merge(windows) for pid, windows in result.items()}


def free_slots(
    windows: Sequence[Interval],
    busy: Iterable[Interval],
    *,
    duration: timedelta,
    buffer: timedelta,
    not_before: datetime,
    not_after: datetime,
    tz: ZoneInfo,
    grid: timedelta = timedelta(minutes=15),
) -> list[datetime]:
    """Start times (aware UTC) at which a new appointment of `duration` followed by `buffer` fits.

    * `busy` already includes each existing booking's own trailing buffer and any time off;
      it may be unsorted, overlapping, and reach outside the windows.
    * The new appointment occupies [t, t + duration + buffer) and must not overlap `busy`.
    * Its treatment part [t, t + duration) must lie inside one working window; the trailing
      buffer may run past closing time (a 60-min slot may end exactly at closing).
    * Each free piece is cut into back-to-back slots starting at the piece start rounded up
      to `grid` in local wall-clock time, so the grid restarts after every booking.
    * Only starts with not_before <= t <= not_after are returned, ascending.

    Runs in O((W + B) log(W + B) + S) for W windows, B busy intervals and S slots.
    """
    if duration <= timedelta(0):
        raise ValueError(f"duration must be positive, got {duration}")
    if buffer < timedelta(0):
        raise ValueError(f"buffer must not be negative, got {buffer}")
    if grid <= timedelta(0):
        raise ValueError(f"grid must be positive, got {grid}")
    not_before = _utc(not_before, "not_before")
    not_after = _utc(not_after, "not_after")

    wins = _merge([(_utc(s, "window start"), _utc(e, "window end")) for s, e in windows if e > s])
    if not wins or not_after < not_before:
        return []

    # Growing each busy start backwards by the new service's buffer turns "the new
    # appointment plus its buffer must end before the busy block" into the simpler
    # "the treatment must end before the expanded block", the same test as at closing time.
    # Busy blocks that cannot touch any window are dropped before sorting.
    lo, hi = wins[0][0], wins[-1][1]
    hi_with_buffer = hi + buffer
    relevant: list[Interval] = []
    for bs, be in busy:  # a plain loop: this is the hot path (hundreds of bookings per call)
        if bs.tzinfo is not UTC:
            bs = _utc(bs, "busy start")
        if be.tzinfo is not UTC:
            be = _utc(be, "busy end")
        if be > bs and be > lo and bs < hi_with_buffer:
            relevant.append((bs - buffer, be))
    blocked = _merge(relevant)

    step = duration + buffer
    out: list[datetime] = []
    j = 0  # sweep pointer into `blocked`; both lists are sorted, so it never moves back
    n_blocked = len(blocked)
    for win_start, win_end in wins:
        if win_end - duration < not_before:
            continue  # no start in this window can be late enough
        if win_start > not_after:
            break
        # Blocks that ended before this window can never matter again.
        while j < n_blocked and blocked[j][1] <= win_start:
            j += 1
        # Subtract the blocks overlapping this window, yielding free pieces. Keep `j` on a
        # block that runs past the window end: it may also cover the next window.
        piece_start = win_start
        k = j
        while piece_start < win_end:
            if k < n_blocked and blocked[k][0] < win_end:
                b_start, b_end = blocked[k]
                piece_end = b_start if b_start < win_end else win_end
                k += 1
            else:
                b_end = piece_end = win_end
            # Most gaps between bookings are too short for the service: skip those cheaply.
            if piece_end - piece_start >= duration:
                _cut_piece(piece_start, piece_end, duration, step, grid, tz, not_before, not_after, out)
            if b_end > piece_start:
                piece_start = b_end
    return out


def _cut_piece(
    start: datetime,
    end: datetime,
    duration: timedelta,
    step: timedelta,
    grid: timedelta,
    tz: ZoneInfo,
    not_before: datetime,
    not_after: datetime,
    out: list[datetime],
) -> None:
    """Append back-to-back starts in the free piece [start, end) to `out`."""
    last_start = end - duration
    if last_start < not_before or start > not_after:
        return
    t = _ceil_to_local_grid(start, grid, tz)
    if t < not_before:
        # Jump straight to the first step on/after not_before: same result as walking
        # and filtering, without iterating through a long-past piece.
        t += step * -((t - not_before) // step)
    stop = min(last_start, not_after)
    while t <= stop:
        out.append(t)
        t += step


def _ceil_to_local_grid(t: datetime, grid: timedelta, tz: ZoneInfo) -> datetime:
    # Snap to the grid as read on the clinic's wall clock, measured from local midnight,
    # so e.g. a +05:30 zone still gets :00/:15/:30/:45 starts. The correction is added
    # in UTC, so the result is a real instant even on a DST-change night.
    local = t.astimezone(tz)
    since_midnight = timedelta(
        hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )
    rem = since_midnight % grid
    return t + (grid - rem) if rem else t


def slots_by_practitioner(
    windows: dict[int, list[Interval]], busy: dict[int, list[Interval]], **kw
) -> dict[datetime, list[int]]:
    """Union over practitioners: each start -> sorted practitioner ids free then ("any practitioner").

    `kw` are free_slots' keyword arguments. A practitioner missing from `busy` is simply free.
    The result is ordered by start time.
    """
    union: dict[datetime, list[int]] = {}
    # Visiting practitioners in id order makes every id list come out sorted for free.
    for pid in sorted(windows):
        for t in free_slots(windows[pid], busy.get(pid, ()), **kw):
            ids = union.get(t)
            if ids is None:
                union[t] = [pid]
            else:
                ids.append(pid)
    return {t: union[t] for t in sorted(union)}


def group_by_local_date(starts: Iterable[datetime], tz: ZoneInfo) -> dict[date, list[datetime]]:
    """Ordered mapping local date -> sorted starts, for rendering a date/time picker.

    Grouping is by the clinic's local date, not the UTC date: a 20:30 Toronto start is
    01:30 UTC the next day but belongs under the same local day as the morning slots.
    The starts themselves are returned unchanged (UTC).
    """
    grouped: dict[date, list[datetime]] = {}
    for t in sorted(starts):
        grouped.setdefault(_utc(t, "start").astimezone(tz).date(), []).append(t)
    return grouped
