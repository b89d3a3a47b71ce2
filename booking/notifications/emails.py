"""Patient and staff emails, through one outbox table.

Each email is written as an OutboxEmail row inside the transaction that caused it; the email worker
(booking.notifications.outbox, ``manage.py run_worker``) sends it after that transaction commits. A web request never
talks to the mail server, so a slow or failing mail server never slows, loses or blocks a booking: the
row keeps the error, staff see it in admin, and the worker retries it with backoff.
No email ever carries the patient's reason for the visit or other health details.

The text is written by the worker, not in the request: the row keeps the kind, the booking and a snapshot of
what the email must show as of the moment it was queued (the booking's status, time, practitioner… then, and
the note), and the worker renders body and calendar file from that snapshot just before sending, then keeps
them on the row. So a booking moved or confirmed before the worker runs still gets each email as it was meant.
"""

import logging

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from clinic import datetimes
from clinic.facts import get_facts

from ..models import Booking, BookingStatus, OutboxEmail
from .ics import booking_ics, calendar_file

logger = logging.getLogger(__name__)


class Kind:
    ACKNOWLEDGEMENT = "acknowledgement"
    NEW_REQUEST = "new_request"
    CONFIRMATION = "confirmation"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    CANCELLED_NOTICE = "cancelled_notice"
    MOVED = "moved"
    MOVED_NOTICE = "moved_notice"
    REMINDER = "reminder"
    # A course of treatment: one email for all its visits (booking/courses/).
    COURSE_BOOKED = "course_booked"
    COURSE_REQUESTED = "course_requested"
    NEW_COURSE_REQUEST = "new_course_request"
    COURSE_CANCELLED = "course_cancelled"
    WAITLIST_JOINED = "waitlist_joined"
    WAITLIST_OFFER = "waitlist_offer"
    SIGN_IN_CODE = "sign_in_code"  # written by booking.visits.codes; no booking
    INTAKE_FORM = "intake_form"


def _subjects():
    return {
        Kind.ACKNOWLEDGEMENT: _("We have your appointment request – %(ref)s"),
        Kind.NEW_REQUEST: _("New appointment request %(ref)s"),
        Kind.CONFIRMATION: _("Your appointment is confirmed – %(ref)s"),
        Kind.DECLINED: _("About your appointment request – %(ref)s"),
        Kind.CANCELLED: _("Your appointment is cancelled – %(ref)s"),
        Kind.CANCELLED_NOTICE: _("Booking %(ref)s was cancelled by the patient"),
        Kind.MOVED: _("Your new appointment time – %(ref)s"),
        Kind.MOVED_NOTICE: _("Booking %(ref)s was moved by the patient"),
        Kind.REMINDER: _("Reminder: your appointment on %(when)s – %(ref)s"),
        Kind.COURSE_BOOKED: _("Your course of appointments is booked – from %(when)s"),
        Kind.COURSE_REQUESTED: _("We have your request for a course of appointments – from %(when)s"),
        Kind.NEW_COURSE_REQUEST: _("New request for a course of appointments from %(when)s"),
        Kind.COURSE_CANCELLED: _("Appointments of your course are cancelled – from %(when)s"),
        Kind.INTAKE_FORM: _("A form is ready before your visit – %(ref)s"),
    }


def kind_labels():
    """Each kind of email in plain words, as the front desk reads it in the outbox."""
    return {
        Kind.ACKNOWLEDGEMENT: _("Request received (to patient)"),
        Kind.NEW_REQUEST: _("New request (to front desk)"),
        Kind.CONFIRMATION: _("Confirmation (to patient)"),
        Kind.DECLINED: _("Request declined (to patient)"),
        Kind.CANCELLED: _("Cancellation (to patient)"),
        Kind.CANCELLED_NOTICE: _("Patient cancelled (to front desk)"),
        Kind.MOVED: _("New time (to patient)"),
        Kind.MOVED_NOTICE: _("Patient moved (to front desk)"),
        Kind.REMINDER: _("Reminder (to patient)"),
        Kind.COURSE_BOOKED: _("Course booked, every date (to patient)"),
        Kind.COURSE_REQUESTED: _("Course requested, every date (to patient)"),
        Kind.NEW_COURSE_REQUEST: _("New course request (to front desk)"),
        Kind.COURSE_CANCELLED: _("Course visits cancelled (to patient)"),
        Kind.WAITLIST_JOINED: _("On the waitlist (to patient)"),
        Kind.WAITLIST_OFFER: _("Waitlist offer of a free time (to patient)"),
        Kind.SIGN_IN_CODE: _("Sign-in code (to patient)"),
        Kind.INTAKE_FORM: _("Form ready (to patient)"),
    }


STAFF_KINDS = {Kind.NEW_REQUEST, Kind.CANCELLED_NOTICE, Kind.MOVED_NOTICE, Kind.NEW_COURSE_REQUEST}


def clinic_address():
    facts = get_facts()
    return settings.CLINIC_NOTIFY_EMAIL or (facts.profile.email if facts.profile else settings.DEFAULT_FROM_EMAIL)


# The booking's own fields an email shows, copied when the email is queued (never the reason: no health
# details in email). Service, practitioner and location names are read when the email is rendered.
SNAPSHOT_FIELDS = (
    "reference",
    "status",
    "start",
    "end",
    "visit_type",
    "service_id",
    "practitioner_id",
    "location_id",
    "telehealth_url",
    "ics_sequence",
    "patient_name",
    "patient_type",
)
DATETIME_FIELDS = {"start", "end"}
NO_CALENDAR, CALENDAR, CALENDAR_CANCEL = "", "publish", "cancel"


def snapshot(booking, *, note="", calendar=NO_CALENDAR):
    """What an email about `booking` must show, as of now (JSON: the outbox row keeps it until it is sent)."""
    fields = {name: getattr(booking, name) for name in SNAPSHOT_FIELDS}
    for name in DATETIME_FIELDS:
        fields[name] = fields[name].isoformat()
    return {"booking": fields, "note": note, "calendar": calendar}


def queue(kind, booking, *, note="", calendar=NO_CALENDAR, send_after=None, for_start=None):
    """Write one email for `booking` into the outbox; the worker renders and sends it once the transaction
    commits. Only the recipient, subject and snapshot are worked out here: rendering waits for the worker."""
    email = outbox_row(kind, booking, note=note, calendar=calendar, send_after=send_after, for_start=for_start)
    if not email.recipient:
        return None  # no address on file (a caller who gave none): nothing to send
    email.save(force_insert=True)
    return email


def queue_together(*rows):
    """Write several emails (from outbox_row) in one INSERT, e.g. the patient's and the front desk's."""
    return OutboxEmail.objects.bulk_create([row for row in rows if row.recipient])


def outbox_row(kind, booking, *, note="", calendar=NO_CALENDAR, send_after=None, for_start=None):
    """The outbox row for one email about `booking`, not saved yet (see queue and queue_together)."""
    # The patient's address on file now (staff may have corrected it since the booking was made).
    recipient = clinic_address() if kind in STAFF_KINDS else booking.patient.email
    return OutboxEmail(
        kind=kind,
        recipient=recipient,
        booking=booking,
        subject=_subjects()[kind] % {"ref": booking.reference, "when": _short_when(booking)},
        context=snapshot(booking, note=note, calendar=calendar),
        send_after=send_after or timezone.now(),
        for_start=for_start,
    )


def booking_as_queued(email):
    """The email's booking as it was when the email was queued (a copy in memory; nothing is saved)."""
    booking = Booking.objects.select_related("service", "practitioner", "location").filter(pk=email.booking_id).first()
    if booking is None:
        return None
    for name, value in email.context["booking"].items():
        # Setting a *_id to another value drops the cached related object, so it is read afresh.
        setattr(booking, name, parse_datetime(value) if name in DATETIME_FIELDS else value)
    return booking


def course_row(kind, visits, *, cancelled=(), calendar=NO_CALENDAR):
    """The one outbox row about several visits of a course (not saved): every date in the text, and with a
    calendar, one event per visit (each with its booking's own UID, so a later change to one visit updates
    only that event). With `cancelled`, the calendar removes those visits and the text lists the rest."""
    about = list(cancelled) or list(visits)
    row = outbox_row(kind, about[0], calendar=calendar)
    row.context["visits"] = [{"id": b.pk, **snapshot(b)["booking"]} for b in visits]
    row.context["cancelled"] = [{"id": b.pk, **snapshot(b)["booking"]} for b in cancelled]
    return row


def _visits_as_queued(snapshots):
    """The course's visits as they were when the email was queued (copies in memory)."""
    rows = Booking.objects.select_related("service", "practitioner", "location").in_bulk([s["id"] for s in snapshots])
    visits = []
    for fields in snapshots:
        booking = rows.get(fields["id"])
        if booking is None:
            continue
        for name, value in fields.items():
            if name != "id":
                setattr(booking, name, parse_datetime(value) if name in DATETIME_FIELDS else value)
        visits.append(booking)
    return visits


def render(email):
    """(body, ics) for an outbox row queued with a snapshot; None when its booking no longer exists."""
    booking = booking_as_queued(email)
    if booking is None:
        return None
    visits = _visits_as_queued(email.context.get("visits", []))
    cancelled = _visits_as_queued(email.context.get("cancelled", []))
    for visit in visits:
        visit.link = settings.SITE_URL + visit.patient_url()  # each visit keeps its own private link
    context = {
        "visits": visits,
        "cancelled": cancelled,
        "booking": booking,
        "clinic": get_facts(),
        "note": email.context.get("note", ""),
        "manage_url": settings.SITE_URL + booking.patient_url(),
        "book_url": f"{settings.SITE_URL}/book/?service={booking.service.slug}",
        "visits_url": settings.SITE_URL + reverse("booking:visits"),
        "admin_url": f"{settings.SITE_URL}/{settings.ADMIN_URL}booking/booking/{booking.pk}/change/",
    }
    body = render_to_string(f"booking/email/{email.kind}.txt", context)
    calendar = email.context.get("calendar", NO_CALENDAR)
    if calendar == CALENDAR_CANCEL and cancelled:
        ics = calendar_file(cancelled, cancel=True)
    elif calendar and visits:
        # Only confirmed visits go into the patient's calendar (a requested one waits for its confirmation).
        confirmed = [visit for visit in visits if visit.status == BookingStatus.CONFIRMED]
        ics = calendar_file(confirmed) if confirmed else ""
    else:
        ics = booking_ics(booking, cancel=calendar == CALENDAR_CANCEL) if calendar else ""
    return body, ics


def _short_when(booking):
    return datetimes.day_label(booking.start)


def queue_with_calendar(kind, booking, *, cancel=False, note=""):
    return queue(kind, booking, note=note, calendar=CALENDAR_CANCEL if cancel else CALENDAR)
