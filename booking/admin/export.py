"""CSV export from the booking list: the selected rows (a list action) or the whole filtered list, for staff
with the ``booking.export_booking`` permission.

The file opens correctly in a spreadsheet: UTF-8 with a byte-order mark (so Excel reads accents
right), and every cell that a spreadsheet would run as a formula is neutralised with a leading
quote (CSV injection). The patient's reason for the visit is never exported (health details).
"""

import csv

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinic.datetimes import local_label, stamp, today
from clinic.phones import readable as readable_phone

from ..models import BulkAccess
from .audit import record_bulk_read


class ExportMixin:
    """BookingAdmin's export: only for staff with ``booking.export_booking``."""

    def has_export_permission(self, request):
        return request.user.has_perm("booking.export_booking")

    def export_view(self, request):
        """The changelist's current filters, search and ordering, as CSV."""
        if not (self.has_view_permission(request) and self.has_export_permission(request)):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            messages.error(request, gettext("These filters are not valid; nothing was exported."))
            return HttpResponseRedirect(reverse("admin:booking_booking_changelist"))
        queryset = changelist.get_queryset(request)
        record_bulk_read(request, BulkAccess.View.EXPORT, queryset.count())
        return bookings_csv_response(queryset)

    @admin.action(description=_("Export selected bookings as CSV"), permissions=["export"])
    def export_csv(self, request, queryset):
        references = sorted(queryset.values_list("reference", flat=True))
        record_bulk_read(request, BulkAccess.View.EXPORT, len(references), "selected: " + ", ".join(references))
        return bookings_csv_response(queryset.select_related(*self.list_select_related))


BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell's text, with a leading quote if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _local(dt, fmt):
    return local_label(dt, fmt) if dt else ""


def columns():
    return [
        (gettext("Reference"), lambda b: b.reference),
        (gettext("Date"), lambda b: _local(b.start, "Y-m-d")),
        (gettext("Start"), lambda b: _local(b.start, "H:i")),
        (gettext("End"), lambda b: _local(b.end, "H:i")),
        (gettext("Status"), lambda b: b.get_status_display()),
        (gettext("Visit type"), lambda b: b.get_visit_type_display()),
        (gettext("Service"), lambda b: b.service.name),
        (gettext("Practitioner"), lambda b: b.practitioner.name),
        (gettext("Location"), lambda b: b.location.name if b.location_id else ""),
        (gettext("Patient"), lambda b: b.patient_name),
        (gettext("Email"), lambda b: b.email),
        (gettext("Phone"), lambda b: readable_phone(b.phone)),
        (gettext("Contact by"), lambda b: b.get_contact_preference_display()),
        (gettext("New or returning"), lambda b: b.get_patient_type_display()),
        (gettext("Requested on"), lambda b: stamp(b.created)),
    ]


class _Echo:
    def write(self, value):
        return value


def csv_lines(queryset):
    """The CSV text, line by line (BOM first), reading the bookings in chunks."""
    cols = columns()
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([neutralise(title) for title, _get in cols])
    for booking in queryset.iterator(chunk_size=500):
        yield writer.writerow([neutralise(get(booking)) for _title, get in cols])


def bookings_csv_response(queryset):
    queryset = queryset.select_related("service", "practitioner", "location")
    filename = f"bookings-{today():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(csv_lines(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
