"""CSV export of bookings for staff with the ``booking.export_booking`` permission.

The file opens correctly in a spreadsheet: UTF-8 with a byte-order mark (so Excel reads accents
right), and every cell that a spreadsheet would run as a formula is neutralised with a leading
quote (CSV injection). The patient's reason for the visit is never exported (health details).
"""

import csv

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.phones import readable as readable_phone

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell's text, with a leading quote if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _local(dt, fmt):
    return timezone.localtime(dt, timezone.get_default_timezone()).strftime(fmt) if dt else ""


def columns():
    return [
        (_("Reference"), lambda b: b.reference),
        (_("Date"), lambda b: _local(b.start, "%Y-%m-%d")),
        (_("Start"), lambda b: _local(b.start, "%H:%M")),
        (_("End"), lambda b: _local(b.end, "%H:%M")),
        (_("Status"), lambda b: b.get_status_display()),
        (_("Visit type"), lambda b: b.get_visit_type_display()),
        (_("Service"), lambda b: b.service.name),
        (_("Practitioner"), lambda b: b.practitioner.name),
        (_("Location"), lambda b: b.location.name if b.location_id else ""),
        (_("Patient"), lambda b: b.patient_name),
        (_("Email"), lambda b: b.email),
        (_("Phone"), lambda b: readable_phone(b.phone)),
        (_("Contact by"), lambda b: b.get_contact_preference_display()),
        (_("New or returning"), lambda b: b.get_patient_type_display()),
        (_("Requested on"), lambda b: _local(b.created, "%Y-%m-%d %H:%M")),
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
    filename = f"bookings-{timezone.localdate():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(csv_lines(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
