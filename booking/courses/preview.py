"""The dates of a course and whether each is free, before anything is saved.

A course keeps the weekday and the time on the clinic's clock (10:00 stays 10:00 across a daylight-saving
change). Each date is free exactly when the save-time check would accept it (the same engine, hours,
closures, time off, bookings and buffers as booking/scheduling/slotcheck.py; a patient only on the picker's
time grid, staff at any start inside working hours); otherwise the preview says
why and offers the free start nearest to it in the same week (Monday to Sunday), which staff or the patient
can take or skip. Four queries whatever the number of visits or bookings.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import Booking, Closure, TimeOff, WorkingHours
from ..scheduling.availability import booking_window, hours_at_place
from ..scheduling.engine import WeeklyHours, free_slots, working_windows


class Reason(models.TextChoices):
    BOOKED = "booked", _("Booked: another visit takes this time")
    TIME_OFF = "time_off", _("Time off: the practitioner is away")
    CLOSURE = "closure", _("Closure: the clinic is closed that day")
    OUTSIDE_HOURS = "outside_hours", _("Outside hours: the practitioner does not work then")
    TOO_SOON = "too_soon", _("Too soon: this time has passed or is inside the minimum notice")
    TOO_LATE = "too_late", _("Too far ahead to book now")


@dataclass
class Plan:
    """What a course is: one service with one practitioner, at one place, from a first start."""

    service: object
    visit_type: str
    location: object
    practitioner: object
    first_start: datetime
    every_weeks: int
    visits: int
    # The booking the course grows from (staff "book a course from this visit"): it is visit 1, already booked.
    origin: Booking | None = None


@dataclass
class Visit:
    number: int
    start: datetime  # the date the course asks for (same weekday and time)
    free: bool = True
    reason: str = ""
    closure_name: str = ""
    alternative: datetime | None = None  # nearest free start the same week, when not free
    already_booked: bool = False  # the origin booking (visit 1 of a course made from a visit)

    @property
    def reason_label(self):
        return Reason(self.reason).label if self.reason else ""


@dataclass
class Preview:
    plan: Plan
    visits: list = field(default_factory=list)

    @property
    def conflicts(self):
        return [v for v in self.visits if not v.free]

    def visit(self, number):
        return next((v for v in self.visits if v.number == number), None)


def course_starts(first_start, every_weeks, count):
    """The course's starts: the same weekday and wall-clock time every `every_weeks` weeks, in the clinic's zone."""
    tz = timezone.get_default_timezone()
    local = timezone.localtime(first_start, tz)
    return [
        datetime.combine(local.date() + timedelta(weeks=every_weeks * i), local.time(), tzinfo=tz).astimezone(UTC)
        for i in range(count)
    ]


def course_window(now=None, *, staff):
    """When a course's visits may fall: staff book any time from now (inside the online minimum notice too);
    patients from the minimum notice. Both up to BOOKING_COURSE_HORIZON_DAYS ahead."""
    now = now or timezone.now()
    not_before = now if staff else booking_window(now)[0]
    return not_before, now + timedelta(days=settings.BOOKING_COURSE_HORIZON_DAYS)


def week_of(start):
    """(Monday, Sunday) of the clinic-time week a start falls in."""
    day = timezone.localtime(start, timezone.get_default_timezone()).date()
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _local_midnight(day):
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


@dataclass
class _Calendar:
    """The practitioner's hours, closures, time off and bookings over the course's weeks (read once)."""

    hours: list
    closures: dict  # date -> reason
    time_off: list  # (start, end)
    bookings: list  # (start, blocked_until)


def _read(plan, first_day, last_day, exclude):
    range_start, range_end = _local_midnight(first_day), _local_midnight(last_day + timedelta(days=1))
    pid = plan.practitioner.pk
    hours_qs = hours_at_place(WorkingHours.objects.filter(practitioner_id=pid), plan.visit_type, plan.location)
    hours = [
        WeeklyHours(*row) for row in hours_qs.values_list("practitioner_id", "weekday", "start", "end", "location_id")
    ]
    closures = dict(Closure.objects.filter(date__range=(first_day, last_day)).values_list("date", "reason"))
    time_off = list(
        TimeOff.objects.filter(practitioner_id=pid, start__lt=range_end, end__gt=range_start).values_list(
            "start", "end"
        )
    )
    bookings = Booking.objects.busy_during([pid], range_start, range_end + plan.service.buffer)
    if exclude:
        bookings = bookings.exclude(pk__in=exclude)
    return _Calendar(hours, closures, time_off, list(bookings.values_list("start", "blocked_until")))


def preview(plan, *, staff, now=None, exclude=()):
    """Each visit of `plan` as free or in conflict (with why and the nearest free time that week)."""
    now = now or timezone.now()
    tz = timezone.get_default_timezone()
    service = plan.service
    starts = course_starts(plan.first_start, plan.every_weeks, plan.visits)
    first_day, last_day = week_of(starts[0])[0], week_of(starts[-1])[1]
    data = _read(plan, first_day, last_day, exclude)
    pid = plan.practitioner.pk
    open_windows = working_windows(data.hours, first_day, last_day, tz).get(pid, [])
    windows = working_windows(data.hours, first_day, last_day, tz, closed_days=data.closures).get(pid, [])
    not_before, not_after = course_window(now, staff=staff)
    active = service.is_active and service.offers(plan.visit_type)
    # The free starts on the time grid: the alternatives offered, and what a patient may take.
    free = set(
        free_slots(
            windows,
            data.bookings + data.time_off,
            duration=service.duration,
            buffer=service.buffer,
            not_before=not_before,
            not_after=not_after,
            tz=tz,
        )
        if active
        else ()
    )
    busy = data.bookings + data.time_off

    def is_free(start):
        if not staff:
            return start in free  # a patient may take only the picker's steps
        # Staff may take any start inside working hours that touches no other block (the save-time rule).
        end = start + service.duration
        return (
            active
            and not_before <= start <= not_after
            and any(ws <= start and end <= we for ws, we in windows)
            and not _overlaps(busy, start, end + service.buffer)
        )

    visits = []
    for number, start in enumerate(starts, 1):
        visit = Visit(number, start)
        if number == 1 and plan.origin is not None:
            visit.already_booked = True
        elif not is_free(start):
            visit.free = False
            visit.reason = _why(start, service, data, open_windows, not_before, not_after, active)
            visit.closure_name = data.closures.get(timezone.localtime(start, tz).date(), "")
            visit.alternative = nearest_in_week(start, free)
        visits.append(visit)
    return Preview(plan, visits)


def _overlaps(intervals, start, end):
    return any(s < end and start < e for s, e in intervals)


def _why(start, service, data, open_windows, not_before, not_after, active):
    """The first reason, in the order a person would look: time, closure, hours, time off, other visits."""
    end = start + service.duration
    if start < not_before:
        return Reason.TOO_SOON
    if start > not_after:
        return Reason.TOO_LATE
    if timezone.localtime(start).date() in data.closures:
        return Reason.CLOSURE
    if not active or not any(ws <= start and end <= we for ws, we in open_windows):
        return Reason.OUTSIDE_HOURS
    if _overlaps(data.time_off, start - service.buffer, end + service.buffer):
        return Reason.TIME_OFF
    # Taken by a booking, or too close to one for this visit and its buffer to fit on the time grid.
    return Reason.BOOKED


def nearest_in_week(start, free_starts):
    """The free start that week closest to `start` as people read a diary: the same day at the nearest time,
    else the nearest day at the nearest time of day (earlier on a tie); None when the week has none."""
    tz = timezone.get_default_timezone()
    monday, sunday = week_of(start)
    week_start, week_end = _local_midnight(monday), _local_midnight(sunday + timedelta(days=1))
    asked = timezone.localtime(start, tz)

    def distance(t):
        local = timezone.localtime(t, tz)
        days = abs((local.date() - asked.date()).days)
        minutes = abs((local.hour * 60 + local.minute) - (asked.hour * 60 + asked.minute))
        return days, minutes, t

    return min((t for t in free_starts if week_start <= t < week_end), key=distance, default=None)


def plan_from_booking(booking, every_weeks, visits):
    """The course a booking starts: its service, practitioner and place, from its time."""
    return Plan(
        service=booking.service,
        visit_type=booking.visit_type,
        location=booking.location,
        practitioner=booking.practitioner,
        first_start=booking.start,
        every_weeks=every_weeks,
        visits=visits,
        origin=booking,
    )
