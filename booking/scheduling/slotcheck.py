"""Is one chosen start still free? The check a booking is saved under, on that slot's own time range.

The picker shows what ``availability.py`` computes for whole days; saving needs the answer for one start
only. Two queries whatever the data: the candidates' hours on that weekday (none on a closure day), and
the bookings and time off overlapping the working window the start falls in. The pure engine then cuts
that one window exactly as the picker does, so a start is accepted here if and only if the picker would
offer it (same hours, closures, time off, bookings, buffers, minimum notice, horizon, grid and DST rules).
"""

from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Exists
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic import datetimes
from clinic.models import Practitioner

from ..models import ACTIVE_STATUSES, Booking, Closure, Service, TimeOff, VisitType, WorkingHours
from ..waitlist.models import OfferStatus, WaitlistOffer
from .availability import booking_window, hours_at_place
from .engine import WeeklyHours, free_slots, working_windows

# PostgreSQL: the ORM query below written out (building it cost more CPU than running it); {where_place}
# is one of the fixed conditions in _PLACE, every value is a parameter.
HOURS_SQL_POSTGRESQL = f"""
SELECT h.practitioner_id, h.weekday, h.start, h."end", h.location_id
  FROM {WorkingHours._meta.db_table} h
  JOIN {Practitioner._meta.db_table} p ON p.id = h.practitioner_id
  JOIN {Service.practitioners.through._meta.db_table} sp ON sp.practitioner_id = h.practitioner_id
 WHERE sp.service_id = %(service)s AND p.is_active AND h.weekday = %(weekday)s
   AND (%(practitioner)s IS NULL OR h.practitioner_id = %(practitioner)s)
   AND NOT EXISTS (SELECT 1 FROM {Closure._meta.db_table} c WHERE c.date = %(day)s)
   AND {{where_place}}
"""  # noqa: S608  (table names come from the models; every value is a parameter)
_PLACE = {
    "telehealth": "h.location_id IS NULL",
    "at": "h.location_id = %(location)s",
    "any": "h.location_id IS NOT NULL",
}


def _hours_postgresql(service, visit_type, location, practitioner, day):
    place = "telehealth" if visit_type == VisitType.TELEHEALTH else ("at" if location is not None else "any")
    params = {
        "service": service.pk,
        "weekday": day.weekday(),
        "practitioner": getattr(practitioner, "pk", None),
        "day": day,
        "location": getattr(location, "pk", None),
    }
    with connection.cursor() as cursor:
        cursor.execute(HOURS_SQL_POSTGRESQL.format(where_place=_PLACE[place]), params)
        return [WeeklyHours(*row) for row in cursor.fetchall()]


def _hours_that_day(service, visit_type, location, practitioner, day):
    """Weekly hours of the active practitioners offering `service` on `day`'s weekday; none if the clinic
    is closed that day (the closure is read in the same query)."""
    if connection.vendor == "postgresql":
        return _hours_postgresql(service, visit_type, location, practitioner, day)
    hours = WorkingHours.objects.filter(
        weekday=day.weekday(), practitioner__is_active=True, practitioner__services=service
    ).exclude(Exists(Closure.objects.filter(date=day)))
    if practitioner is not None:
        hours = hours.filter(practitioner_id=practitioner.pk)
    hours = hours_at_place(hours, visit_type, location)
    rows = hours.order_by().values_list("practitioner_id", "weekday", "start", "end", "location_id")
    return [WeeklyHours(*row) for row in rows]


# PostgreSQL: the same question as written below with the ORM, as one statement; the booking part is the
# no-overlap constraint's own range expression, so its GiST index finds the few rows near the slot. Written
# out because building it through the ORM cost more than running it, on the busiest write of the site.
BUSY_SQL_POSTGRESQL = f"""
SELECT practitioner_id, start, blocked_until FROM {Booking._meta.db_table}
 WHERE status IN %(active)s AND practitioner_id = ANY(%(pids)s) AND id <> %(exclude)s
   AND tstzrange(start, blocked_until, '[)') && tstzrange(%(start)s, %(until)s, '[)')
UNION ALL
SELECT practitioner_id, start, "end" FROM {TimeOff._meta.db_table}
 WHERE practitioner_id = ANY(%(pids)s) AND start < %(until)s AND "end" > %(start)s
"""  # noqa: S608  (table names come from the models; every value is a parameter)
# For online booking, times held for a waiting patient (booking/waitlist) are busy too: one more branch of
# the same statement, so honouring holds costs no extra round trip.
HELD_SQL_POSTGRESQL = f"""
UNION ALL
SELECT practitioner_id, start, blocked_until FROM {WaitlistOffer._meta.db_table}
 WHERE status = %(offered)s AND expires_at > %(now)s AND practitioner_id = ANY(%(pids)s)
   AND start < %(until)s AND blocked_until > %(start)s
"""  # noqa: S608  (table names come from the models; every value is a parameter)


def _busy_rows(pids, start, until, exclude_booking, held_at=None):
    if connection.vendor == "postgresql":
        params = {"active": tuple(str(s) for s in ACTIVE_STATUSES), "pids": pids, "exclude": exclude_booking or 0}
        sql = BUSY_SQL_POSTGRESQL
        if held_at is not None:
            sql += HELD_SQL_POSTGRESQL
            params.update(offered=str(OfferStatus.OFFERED), now=held_at)
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "start": start, "until": until})
            return cursor.fetchall()
    bookings = Booking.objects.busy_during(pids, start, until)
    if exclude_booking:
        bookings = bookings.exclude(pk=exclude_booking)
    time_off = TimeOff.objects.filter(practitioner_id__in=pids, start__lt=until, end__gt=start)
    # One round trip for all; the models' default orderings are not allowed inside a UNION.
    others = [time_off.order_by().values_list("practitioner_id", "start", "end")]
    if held_at is not None:
        held = WaitlistOffer.objects.holding(held_at).filter(
            practitioner_id__in=pids, start__lt=until, blocked_until__gt=start
        )
        others.append(held.order_by().values_list("practitioner_id", "start", "blocked_until"))
    return bookings.order_by().values_list("practitioner_id", "start", "blocked_until").union(*others, all=True)


def _busy(pids, start, until, exclude_booking=None, held_at=None):
    """Per practitioner: active bookings (with their buffers) and time off overlapping [start, until), and
    times held for a waiting patient at `held_at` (when given)."""
    busy = {}
    for pid, busy_start, busy_end in _busy_rows(pids, start, until, exclude_booking, held_at):
        busy.setdefault(pid, []).append((busy_start, busy_end))
    return busy


def free_at(
    service,
    visit_type: str,
    location,
    practitioner,
    start: datetime,
    *,
    now: datetime | None = None,
    exclude_booking: int | None = None,
    staff: bool = False,
    window: tuple[datetime, datetime] | None = None,
    honour_holds: bool = False,
) -> list[int]:
    """Ids of the practitioners free to start `service` at `start`, in id order (the first is booked for
    "any practitioner"); the same answer as ``slots_for(...).get(start, [])``, from the slot's own range.
    With ``staff``: from now rather than the minimum notice, and at any start within working hours.
    `window` replaces the booking window (minimum notice to horizon) where another one applies: the later
    visits of a course of treatment (booking/courses/).

    With `honour_holds` (online booking by patients), a time held for a waiting patient is not free; staff
    booking by phone leave it False and may book a held time (the offer is then void)."""
    now = now or timezone.now()
    not_before, not_after = window or booking_window(now, staff=staff)
    if not service.is_active or not service.offers(visit_type) or not not_before <= start <= not_after:
        return []
    tz = datetimes.clinic_tz()
    day = datetimes.local_date(start)
    hours = _hours_that_day(service, visit_type, location, practitioner, day)
    end = start + service.duration
    # The one merged working window per practitioner that holds the whole treatment.
    windows = {
        pid: window
        for pid, merged in working_windows(hours, day, day, tz).items()
        for window in merged
        if window[0] <= start and end <= window[1]
    }
    if not windows:
        return []
    # A block matters to a window if it reaches into it or into the buffer after its end (free_slots' rule).
    busy = _busy(
        list(windows),
        min(w[0] for w in windows.values()),
        max(w[1] for w in windows.values()) + service.buffer,
        exclude_booking,
        now if honour_holds else None,
    )
    if staff:
        # Staff may book any start inside working hours (e.g. a free 10:15 clicked on the day calendar), not
        # only the patient picker's steps; the time it keeps busy (buffer included) must touch no other block.
        blocked_until = end + service.buffer
        return [
            pid
            for pid in sorted(windows)
            if not any(b_start < blocked_until and b_end > start for b_start, b_end in busy.get(pid, ()))
        ]
    rules = {"duration": service.duration, "buffer": service.buffer, "tz": tz}
    return [
        pid
        for pid in sorted(windows)
        if start in free_slots([windows[pid]], busy.get(pid, ()), not_before=not_before, not_after=not_after, **rules)
    ]


def why_not_bookable(service, visit_type, location, practitioner, start, *, now=None):
    """Why a start cannot be booked, in plain words, when the reason is not another booking: in the past,
    inside the minimum notice, past the horizon, a closure day, outside the hours that serve the visit.
    None when the rules allow the time (it was taken, or is blocked by time off): the caller says so.
    Only asked after free_at refused, so the busy path costs nothing more."""
    now = now or timezone.now()
    not_before, not_after = booking_window(now)
    if start <= now:
        return _("That time has already passed. Please choose another.")
    if start < not_before:
        hours = settings.BOOKING_MIN_NOTICE_HOURS
        return ngettext(
            "Online bookings need at least %(hours)d hour's notice. Please choose a later time, or call us.",
            "Online bookings need at least %(hours)d hours' notice. Please choose a later time, or call us.",
            hours,
        ) % {"hours": hours}
    if start > not_after:
        days = settings.BOOKING_HORIZON_DAYS
        return ngettext(
            "We take online bookings up to %(days)d day ahead. Please choose an earlier time, or call us.",
            "We take online bookings up to %(days)d days ahead. Please choose an earlier time, or call us.",
            days,
        ) % {"days": days}
    tz = timezone.get_default_timezone()
    day = timezone.localtime(start, tz).date()
    if Closure.objects.filter(date=day).exists():
        return _("The clinic is closed on %(day)s. Please choose another day.") % {
            "day": formats.date_format(day, "l j F")
        }
    end = start + service.duration
    hours = _hours_that_day(service, visit_type, location, practitioner, day)
    if service.is_active and service.offers(visit_type):
        windows = working_windows(hours, day, day, tz)
        if not any(w[0] <= start and end <= w[1] for merged in windows.values() for w in merged):
            if practitioner is not None:
                return _("%(name)s doesn't work at that time. Please choose one of the times shown.") % {
                    "name": practitioner.name
                }
            return _("That time is outside our opening hours for this visit. Please choose one of the times shown.")
    return None
