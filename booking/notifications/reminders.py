"""Reminders for a booking's current time, planned as outbox rows that the email worker sends when due.

A confirmed booking gets one reminder the day before (at BOOKING_REMINDER_HOUR, clinic time). Confirmed
too late for that, it gets one BOOKING_LATE_REMINDER_HOURS before the visit (0 = none). Moving a booking
withdraws the pending reminder and plans one for the new time; cancelling or declining withdraws it. Pages
and emails promise a reminder only when such a row is waiting (see ``pending_for``).
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic import datetimes

from ..models import Booking, BookingStatus, OutboxEmail, OutboxStatus
from . import emails

REMINDER = "reminder"


def reminder_time(start, now):
    """When the reminder for a visit at `start` should go out, or None if there is no sensible time left."""
    tz = datetimes.clinic_tz()
    day_before = datetimes.local_date(start) - timedelta(days=1)
    usual = datetime.combine(day_before, time(settings.BOOKING_REMINDER_HOUR), tzinfo=tz)
    if usual > now:
        return usual
    late_hours = settings.BOOKING_LATE_REMINDER_HOURS
    if late_hours > 0:
        late = start - timedelta(hours=late_hours)
        if late > now:
            return late
    return None


def _withdraw(booking, keep_start=None):
    """Withdraw reminders not yet handed to the mail server (except one for `keep_start`)."""
    rows = OutboxEmail.objects.filter(booking=booking, kind=REMINDER, status__in=[OutboxStatus.PENDING])
    if keep_start is not None:
        rows = rows.exclude(for_start=keep_start)
    rows.update(status=OutboxStatus.CANCELLED, last_error="")


def plan(booking, now=None):
    """Make the outbox hold exactly the reminder this booking should get. Call inside its transaction."""
    now = now or timezone.now()
    if booking.status != BookingStatus.CONFIRMED:
        _withdraw(booking)
        return None
    _withdraw(booking, keep_start=booking.start)
    if OutboxEmail.objects.filter(booking=booking, kind=REMINDER, for_start=booking.start).exists():
        return None
    when = reminder_time(booking.start, now)
    if when is None:
        return None
    try:
        with transaction.atomic():
            return emails.queue(emails.Kind.REMINDER, booking, send_after=when, for_start=booking.start)
    except IntegrityError:
        return None  # planned concurrently (one reminder per booking time)


def pending_for(booking):
    """The reminder waiting for this booking's current time, if any (what pages may promise)."""
    if booking.status != BookingStatus.CONFIRMED:
        return None
    return (
        OutboxEmail.objects.filter(
            booking=booking, kind=REMINDER, for_start=booking.start, status__in=[OutboxStatus.PENDING]
        )
        .only("send_after")
        .first()
    )


def still_wanted(email):
    """A reminder is sent only for the booking's current time while it is confirmed."""
    booking = Booking.objects.filter(pk=email.booking_id).only("status", "start").first()
    return bool(booking and booking.status == BookingStatus.CONFIRMED and booking.start == email.for_start)


def plan_missing(now=None):
    """Plan reminders for upcoming confirmed bookings that have none for their time (e.g. confirmed before
    the worker existed). The worker runs this every few minutes. Returns how many were planned."""
    now = now or timezone.now()
    planned = 0
    candidates = (
        Booking.objects.filter(status=BookingStatus.CONFIRMED, start__gt=now)
        .exclude(pk__in=OutboxEmail.objects.filter(kind=REMINDER).values("booking_id"))
        .values_list("pk", flat=True)
    )
    for pk in list(candidates[:500]):
        with transaction.atomic():
            booking = (
                Booking.objects.select_for_update(of=("self",))
                .select_related("service", "practitioner", "location")
                .get(pk=pk)
            )
            planned += plan(booking, now) is not None
    return planned
