"""Patient and staff emails, through one outbox table.

Each email is written as an OutboxEmail row inside the transaction that caused it; the email worker
(booking.outbox, ``manage.py run_worker``) sends it after that transaction commits. A web request never
talks to the mail server, so a slow or failing mail server never slows, loses or blocks a booking: the
row keeps the error, staff see it in admin, and the worker retries it with backoff.
No email ever carries the patient's reason for the visit or other health details.
"""

import logging

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from clinic.facts import get_facts

from .calendar import booking_ics
from .models import OutboxEmail

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
    }


STAFF_KINDS = {Kind.NEW_REQUEST, Kind.CANCELLED_NOTICE, Kind.MOVED_NOTICE}


def clinic_address():
    facts = get_facts()
    return settings.CLINIC_NOTIFY_EMAIL or (facts.profile.email if facts.profile else settings.DEFAULT_FROM_EMAIL)


def queue(kind, booking, *, note="", ics="", send_after=None, for_start=None):
    """Write one email for `booking` into the outbox; the worker sends it once the transaction commits."""
    facts = get_facts()
    recipient = clinic_address() if kind in STAFF_KINDS else booking.email
    context = {
        "booking": booking,
        "clinic": facts,
        "note": note,
        "manage_url": settings.SITE_URL + booking.patient_url(),
        "book_url": f"{settings.SITE_URL}/book/?service={booking.service.slug}",
        "admin_url": f"{settings.SITE_URL}/{settings.ADMIN_URL}booking/booking/{booking.pk}/change/",
    }
    body = render_to_string(f"booking/email/{kind}.txt", context)
    email = OutboxEmail.objects.create(
        kind=kind,
        recipient=recipient,
        booking=booking,
        subject=_subjects()[kind] % {"ref": booking.reference, "when": _short_when(booking)},
        body=body,
        ics=ics,
        send_after=send_after or timezone.now(),
        for_start=for_start,
    )
    return email


def _short_when(booking):
    return formats.date_format(timezone.localtime(booking.start), "l j F")


def queue_with_calendar(kind, booking, *, cancel=False, note=""):
    return queue(kind, booking, note=note, ics=booking_ics(booking, cancel=cancel))
