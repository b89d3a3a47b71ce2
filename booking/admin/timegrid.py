"""The calendar's layout: columns (a practitioner on a day) on one time axis running down, as CSS grid positions.

The content security policy allows no inline styles, so every position is a class: ``cal-at-N`` (the grid row
an item starts on), ``cal-span-N`` (how many rows it covers), ``cal-col-N`` (its column) and ``cal-cols-N`` (how
many columns the grid has), all defined in the stylesheet ``grid_css()`` writes (served by the schedule pages).

The axis is the clinic's wall clock in rows of ROW_MINUTES, labelled every quarter hour; grid row 1 holds the
column headings. An instant is placed by its local wall-clock time on the column's day, so 9:00 sits on the
9:00 row on both sides of a daylight-saving change. Free starts come from the scheduling engine
(booking.scheduling.engine.free_slots): working hours minus bookings (with their buffers), time off and closures,
on the quarter-hour grid.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from ..scheduling.engine import WeeklyHours, free_slots, working_windows

ROW_MINUTES = 5
STEP_MINUTES = 15  # the quarter hours on the axis, and the grid free starts are offered on
ROWS_PER_STEP = STEP_MINUTES // ROW_MINUTES
DAY_MINUTES = 24 * 60
MAX_ROWS = DAY_MINUTES // ROW_MINUTES + 1  # a whole day, plus the heading row
MAX_COLUMNS = 12  # columns beyond this many practitioners wrap into another grid (see chunks)
DEFAULT_HOURS = (time(8), time(18))  # the axis when nothing else says when the day runs
_STEP = timedelta(minutes=STEP_MINUTES)


def grid_css():
    """The stylesheet with every position class the calendar uses (a few hundred short rules)."""
    rules = [f".cal-at-{n}{{grid-row-start:{n}}}" for n in range(1, MAX_ROWS + 2)]
    rules += [f".cal-span-{n}{{grid-row-end:span {n}}}" for n in range(1, MAX_ROWS + 1)]
    rules += [f".cal-col-{n}{{grid-column:{n}}}" for n in range(1, MAX_COLUMNS + 2)]
    rules += [
        f".cal-cols-{n}{{grid-template-columns:4.25rem repeat({n},minmax(0,1fr))}}" for n in range(1, MAX_COLUMNS + 1)
    ]
    return "\n".join(rules) + "\n"


def chunks(items, size=MAX_COLUMNS):
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def wall_minutes(instant, day, tz):
    """Minutes since local midnight of `day` on the clinic's clock, clipped to that day."""
    local = timezone.localtime(instant, tz)
    if local.date() < day:
        return 0
    if local.date() > day:
        return DAY_MINUTES
    return local.hour * 60 + local.minute + (1 if local.second or local.microsecond else 0)


def _minutes(t):
    return t.hour * 60 + t.minute


@dataclass
class Axis:
    """The rows from `first` to `last` minute of the day (multiples of STEP_MINUTES)."""

    first: int
    last: int

    @classmethod
    def covering(cls, spans):
        """The clinic's day widened to cover every (start, end) minute pair given; 8:00–18:00 if none."""
        spans = [(s, e) for s, e in spans if e > s]
        if not spans:
            spans = [(_minutes(DEFAULT_HOURS[0]), _minutes(DEFAULT_HOURS[1]))]
        first = min(s for s, _e in spans) // STEP_MINUTES * STEP_MINUTES
        last = -(-max(e for _s, e in spans) // STEP_MINUTES) * STEP_MINUTES
        return cls(max(0, first), min(DAY_MINUTES, last))

    def row(self, minute):
        """The grid row (line number) at which `minute` of the day starts."""
        minute = min(max(minute, self.first), self.last)
        return 2 + (minute - self.first) // ROW_MINUTES

    def place(self, start_minute, end_minute):
        """(row, span) for the minutes [start, end), at least one row tall; None when outside the axis."""
        if end_minute <= self.first or start_minute >= self.last:
            return None
        at = self.row(start_minute)
        end = 2 + (-(-(min(end_minute, self.last) - self.first) // ROW_MINUTES))
        return at, max(1, end - at)

    @property
    def rows(self):
        return (self.last - self.first) // ROW_MINUTES

    def labels(self):
        return [
            {"at": self.row(m), "span": ROWS_PER_STEP, "text": f"{m // 60:02d}:{m % 60:02d}", "hour": m % 60 == 0}
            for m in range(self.first, self.last, STEP_MINUTES)
        ]


@dataclass
class Column:
    """One practitioner on one day: its heading and everything placed in it."""

    practitioner: object
    day: date
    index: int = 0  # grid column (the time labels are column 1)
    closure: object = None
    bookings: list = field(default_factory=list)
    time_off: list = field(default_factory=list)
    hours: list = field(default_factory=list)  # WeeklyHours rows for the day's weekday
    free: list = field(default_factory=list)
    working: list = field(default_factory=list)


def free_starts(column, busy, *, tz, now, shortest_minutes):
    """Quarter-hour starts (aware, clinic time) at which this practitioner could take their shortest service.

    The engine's own notion of free (working hours minus bookings with buffers, time off and closures), on the
    quarter-hour grid; staff may book inside the online minimum notice, so anything from now on counts.
    """
    if not shortest_minutes or column.closure is not None or not column.hours:
        return []
    day = column.day
    windows = working_windows(column.hours, day, day, tz).get(column.practitioner.pk, [])
    day_start = datetime.combine(day, time.min, tzinfo=tz)
    day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    starts = free_slots(
        windows, busy, duration=_STEP, buffer=timedelta(0), not_before=max(day_start, now), not_after=day_end, tz=tz
    )
    # A start is offered only where the shortest service fits: that many free quarter hours in a row.
    free = set(starts)
    need = -(-shortest_minutes // STEP_MINUTES)
    return [timezone.localtime(t, tz) for t in starts if all(t + _STEP * k in free for k in range(need))]


def working_bands(column, tz):
    """(start minute, end minute) of the practitioner's working windows that day (not on a closure day)."""
    if column.closure is not None:
        return []
    windows = working_windows(column.hours, column.day, column.day, tz).get(column.practitioner.pk, [])
    return [(wall_minutes(s, column.day, tz), wall_minutes(e, column.day, tz)) for s, e in windows]


def as_weekly(rows):
    return [WeeklyHours(r["practitioner_id"], r["weekday"], r["start"], r["end"], r["location_id"]) for r in rows]
