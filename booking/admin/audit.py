"""The audit trail of staff reads: one row per booking page opened (BookingAccess) and one per bulk read
(BulkAccess: the list, a schedule, a CSV export), written only once the page is actually being shown."""

from ..models import BookingAccess, BulkAccess


def shown(response):
    return response.status_code == 200


def record_booking_read(request, booking):
    BookingAccess.objects.create(booking=booking, user=request.user)


def record_bulk_read(request, view, rows, query=None):
    query = request.GET.urlencode() if query is None else query
    BulkAccess.objects.create(user=request.user, view=view, query=query[:500], rows=rows)
