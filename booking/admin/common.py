"""Small helpers the booking admin modules share: the clinic's time zone, links to a booking and read-only
records."""

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


class ReadOnlyMixin:
    """For records staff may look at but never add, change or delete (audit trails, history, sent emails).
    Serves model admins and inlines alike (an inline's add check also gets the parent object)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
