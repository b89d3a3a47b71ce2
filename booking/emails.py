"""Patient and staff emails, through one outbox table.

Each email is written as an OutboxEmail row inside the transaction that caused it, and sent only
after that transaction commits. A mail failure therefore never loses or blocks a booking: the row
keeps the error, staff see it in admin, and `manage.py resend_failed_emails` retries it.
No email ever carries the patient's reason for the visit or other health details.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.facts import get_facts

from .calendar import booking_ics
from .models import OutboxEmail, OutboxStatus

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
        Kind.REMINDER: _("Reminder: your appointment tomorrow – %(ref)s"),
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


def queue(kind, booking, *, note="", ics=""):
    """Write one email for `booking` into the outbox; it is sent after the current transaction commits."""
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
        subject=_subjects()[kind] % {"ref": booking.reference},
        body=body,
        ics=ics,
    )
    transaction.on_commit(lambda: send_ids([email.pk]))
    return email


def queue_with_calendar(kind, booking, *, cancel=False, note=""):
    return queue(kind, booking, note=note, ics=booking_ics(booking, cancel=cancel))


def send_one(email):
    """Try to send one outbox row; record the outcome on the row. Never raises."""
    message = EmailMessage(subject=email.subject, body=email.body, to=[email.recipient])
    if email.ics:
        message.attach("appointment.ics", email.ics, "text/calendar; charset=utf-8")
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001  (any transport error must be recorded, not raised)
        OutboxEmail.objects.filter(pk=email.pk).update(
            status=OutboxStatus.FAILED, attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        logger.warning("Email %s (%s) failed: %s", email.pk, email.kind, type(exc).__name__)
        return False
    OutboxEmail.objects.filter(pk=email.pk).update(
        status=OutboxStatus.SENT, attempts=F("attempts") + 1, last_error="", sent_at=timezone.now()
    )
    return True


def send_ids(ids):
    sent = 0
    for email in OutboxEmail.objects.filter(pk__in=ids, status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED]):
        sent += send_one(email)
    return sent


def resend_failed(max_attempts=None):
    """Retry pending and failed emails that have attempts left. Returns (sent, still_failing)."""
    max_attempts = max_attempts or settings.EMAIL_MAX_ATTEMPTS
    todo = OutboxEmail.objects.filter(
        status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED], attempts__lt=max_attempts
    ).order_by("created")
    sent = failed = 0
    for email in todo:
        if send_one(email):
            sent += 1
        else:
            failed += 1
    return sent, failed
