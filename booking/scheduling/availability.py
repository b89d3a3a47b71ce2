"""Free appointment times from the database: a thin adapter that feeds the pure engine in
``booking/scheduling/engine.py``, and the shared cache in front of it.

A fixed handful of queries whatever the date range, so the booking page costs the same with 10 bookings
or 10,000. What patients browse comes from the shared cache under the ``AVAILABILITY`` version, which every
change to bookings, hours, time off, closures or services replaces (registered in ``booking/signals.py``).
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from clinic import caching, datetimes

from ..models import Booking, Closure, TimeOff, VisitType, WorkingHours
from ..waitlist.models import WaitlistOffer
from .engine import Interval, WeeklyHours, slots_by_practitioner, working_windows

_ONE_DAY = timedelta(days=1)


def booking_window(now: datetime | None = None, *, staff: bool = False) -> tuple[datetime, datetime]:
    """The earliest and latest start a patient may pick: minimum notice to horizon. Staff booking a caller may
    take any start from now (a caller at 9 can have 11 today)."""
    now = now or timezone.now()
    notice = timedelta(0) if staff else timedelta(hours=settings.BOOKING_MIN_NOTICE_HOURS)
    return (now + notice, now + timedelta(days=settings.BOOKING_HORIZON_DAYS))


def candidate_practitioners(service, practitioner=None):
    """Active practitioners who offer `service` (just the chosen one, if one was chosen)."""
    qs = service.practitioners.filter(is_active=True)
    if practitioner is not None:
        qs = qs.filter(pk=practitioner.pk)
    return list(qs.values_list("pk", flat=True))


AVAILABILITY_CACHE_SECONDS = 60
AVAILABILITY = "availability"  # caching version bumped by every change to what decides free times


def availability_version() -> str:
    return caching.version(AVAILABILITY)


def bump_availability_version() -> None:
    """Forget cached free times (BookingConfig.ready registers the models whose changes call this)."""
    caching.bump(AVAILABILITY)


def slots_for(
    service,
    visit_type: str,
    location=None,
    practitioner=None,
    *,
    day: date | None = None,
    now: datetime | None = None,
    exclude_booking: int | None = None,
    use_cache: bool = True,
    staff: bool = False,
    honour_holds: bool = True,
) -> dict[datetime, list[int]]:
    """Free starts (UTC) -> ids of practitioners free then, for a service and visit type.

    In-clinic visits use hours at `location` (every location when None); telehealth uses the
    practitioners' telehealth hours. `day` limits the result to one local date.

    What patients browse comes from the shared cache (keyed on a version that every change to
    bookings, hours, time off, closures or services replaces). Saving a booking never uses this: it checks
    the one chosen start against the database (booking/scheduling/slotcheck.py), which has the last word on overlaps.

    Times held for a waiting patient (booking/waitlist) are left out unless `honour_holds` is False or `staff`
    (the front desk may book a held time by phone; the offer is then void).
    """
    if not use_cache or now is not None or exclude_booking or staff or not honour_holds:
        return _compute_slots(
            service,
            visit_type,
            location,
            practitioner,
            day,
            now,
            exclude_booking,
            staff=staff,
            honour_holds=honour_holds and not staff,
        )
    now = timezone.now()
    key = "booking:slots:{}:{}:{}:{}:{}:{}".format(
        availability_version(),
        service.pk,
        visit_type,
        getattr(location, "pk", None),
        getattr(practitioner, "pk", None),
        day,
    )
    cached = caching.get(key)
    if cached is None:
        cached = _compute_slots(service, visit_type, location, practitioner, day, now)
        caching.set(key, cached, AVAILABILITY_CACHE_SECONDS)
    # Time moves on while an entry is cached: drop starts that are now inside the minimum notice.
    not_before, _ = booking_window(now)
    return {t: ids for t, ids in cached.items() if t >= not_before}


def hours_at_place(hours_qs, visit_type, location):
    """Working hours that serve this visit: telehealth hours (no location), or hours at `location`, or at any
    location when none was chosen."""
    if visit_type == VisitType.TELEHEALTH:
        return hours_qs.filter(location__isnull=True)
    if location is not None:
        return hours_qs.filter(location=location)
    return hours_qs.filter(location__isnull=False)


def _compute_slots(
    service, visit_type, location, practitioner, day, now, exclude_booking=None, *, staff=False, honour_holds=True
):
    """slots_for without the cache: the handful of queries, then the engine."""
    now = now or timezone.now()
    tz = datetimes.clinic_tz()
    not_before, not_after = booking_window(now, staff=staff)
    if not service.is_active or not service.offers(visit_type):
        return {}
    first_day = not_before.astimezone(tz).date()
    last_day = not_after.astimezone(tz).date()
    if day is not None:
        if not first_day <= day <= last_day:
            return {}
        first_day = last_day = day
    pids = candidate_practitioners(service, practitioner)
    if not pids:
        return {}

    hours_qs = hours_at_place(WorkingHours.objects.filter(practitioner_id__in=pids), visit_type, location)
    hours = [
        WeeklyHours(h["practitioner_id"], h["weekday"], h["start"], h["end"], h["location_id"])
        for h in hours_qs.values("practitioner_id", "weekday", "start", "end", "location_id")
    ]
    closed = set(Closure.objects.filter(date__range=(first_day, last_day)).values_list("date", flat=True))
    windows = working_windows(hours, first_day, last_day, tz, closed)

    range_start = datetime.combine(first_day, time.min, tzinfo=tz)
    range_end = datetime.combine(last_day + _ONE_DAY, time.min, tzinfo=tz)
    busy: dict[int, list[Interval]] = {}
    bookings = Booking.objects.active().filter(
        practitioner_id__in=pids, start__lt=range_end, blocked_until__gt=range_start
    )
    if exclude_booking:
        bookings = bookings.exclude(pk=exclude_booking)
    for pid, start, until in bookings.values_list("practitioner_id", "start", "blocked_until"):
        busy.setdefault(pid, []).append((start, until))
    for pid, start, end in TimeOff.objects.filter(
        practitioner_id__in=pids, start__lt=range_end, end__gt=range_start
    ).values_list("practitioner_id", "start", "end"):
        busy.setdefault(pid, []).append((start, end))
    if honour_holds:
        held = WaitlistOffer.objects.holding(now).filter(
            practitioner_id__in=pids, start__lt=range_end, blocked_until__gt=range_start
        )
        for pid, start, until in held.values_list("practitioner_id", "start", "blocked_until"):
            busy.setdefault(pid, []).append((start, until))

    return slots_by_practitioner(
        windows,
        busy,
        duration=service.duration,
        buffer=service.buffer,
        not_before=not_before,
        not_after=not_after,
        tz=tz,
    )
