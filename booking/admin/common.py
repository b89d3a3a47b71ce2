"""Small helpers the booking admin modules share: the clinic's time zone and links to a booking."""

from datetime import datetime, time

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from ..models import BookingStatus

# Declined and cancelled bookings hold no time, so the schedule and the index counts leave them out.
HIDDEN_IN_SCHEDULE = (BookingStatus.DECLINED, BookingStatus.CANCELLED)


def clinic_tz():
    return timezone.get_default_timezone()


def local_midnight(day):
    return datetime.combine(day, time.min, tzinfo=clinic_tz())


def local_label(dt, fmt="D j M Y, H:i"):
    return date_format(timezone.localtime(dt, clinic_tz()), fmt)


def change_url(booking_or_pk):
    pk = getattr(booking_or_pk, "pk", booking_or_pk)
    return reverse("admin:booking_booking_change", args=[pk])
