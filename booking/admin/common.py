"""Small helpers the booking admin modules share: links to a booking and read-only records."""

from django.urls import reverse

from ..models import BookingStatus

# Declined and cancelled bookings hold no time, so the schedule and the index counts leave them out.
HIDDEN_IN_SCHEDULE = (BookingStatus.DECLINED, BookingStatus.CANCELLED)


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
