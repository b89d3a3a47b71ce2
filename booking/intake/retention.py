"""How long health records are kept: settings.HEALTH_RECORD_RETENTION_YEARS (default 10) after the patient's
last visit or, for a patient seen as a child, after their 18th birthday, whichever is later. The patient is
the Patient record of the booking the form was sent for; purge_bookings leaves that patient and every booking
of theirs alone until then (others sharing the email address are purged as usual);
`health_records_past_retention` lists the rest for the privacy officer. Nothing here deletes a record:
destruction is the privacy officer's decision."""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from booking.models import Booking, BookingStatus

from .gate import date_of_birth_on_file
from .models import IntakeForm

NOT_VISITS = (BookingStatus.DECLINED, BookingStatus.CANCELLED)


def add_years(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass
class Retention:
    form: IntakeForm
    last_visit: date
    keep_until: date


def _last_visit():
    visits = (
        Booking.objects.filter(patient_id=OuterRef("booking__patient_id"))
        .exclude(status__in=NOT_VISITS)
        .order_by()
        .values("patient_id")
        .annotate(last=Max("start"))
        .values("last")[:1]
    )
    return Subquery(visits)


def retention_of_forms(queryset=None):
    """A Retention for each form that holds a record (one query, plus decrypting any date of birth on file)."""
    years = settings.HEALTH_RECORD_RETENTION_YEARS
    forms = (queryset or IntakeForm.objects.all()).filter(records__isnull=False).distinct()
    out = []
    for form in forms.select_related("booking__patient").annotate(last_visit=_last_visit()):
        last = timezone.localdate(form.last_visit or form.booking.start)
        start = last
        dob = date_of_birth_on_file(form)
        if dob:
            start = max(start, add_years(date.fromisoformat(dob), 18))
        out.append(Retention(form, last, add_years(start, years)))
    return out


def past_retention(today=None):
    today = today or timezone.localdate()
    return [r for r in retention_of_forms() if r.keep_until <= today]


def patients_still_kept(today=None):
    """The ids of the patients whose health records are within retention: purge_bookings skips them and their
    bookings."""
    today = today or timezone.localdate()
    return {r.form.booking.patient_id for r in retention_of_forms() if r.keep_until > today}
