"""The email worker's side of the outbox: claim each due row exactly once, send it, record the outcome.

Rows are written by booking.notifications.emails inside the transaction that caused them; nothing in a web request
talks to the mail server. A worker (``manage.py run_worker``) claims due rows and sends them. Claiming
is exactly-once across any number of workers on any number of machines:

- on PostgreSQL, ``SELECT … FOR UPDATE SKIP LOCKED`` hands each row to one worker, the others skip it;
- on SQLite (one machine), the write transaction is IMMEDIATE, so claims are serialised, and every claim
  is a conditional UPDATE (status and claim time unchanged since read) that only one process can win.

A claimed row is marked "sending" with its claim time; if the worker dies before recording the outcome,
the row is claimed again once its lease has expired and sent with the same Message-ID.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import OutboxEmail, OutboxStatus
from .emails import render
from .reminders import REMINDER, still_wanted

logger = logging.getLogger(__name__)

RETRYABLE = (OutboxStatus.PENDING, OutboxStatus.FAILED)

# Per kind of email: a check, made just before sending, that the email still says something true (a reminder
# for a booking since moved or cancelled, a waitlist offer since taken or expired). False: not sent.
_still_wanted = {REMINDER: still_wanted}


def register_still_wanted(kind, check):
    _still_wanted[kind] = check


def lease():
    return timedelta(seconds=settings.EMAIL_CLAIM_LEASE_SECONDS)


def backoff(attempts):
    """Wait before the next try: 1, 2, 4, 8… minutes (base from settings), at most an hour."""
    return timedelta(seconds=min(settings.EMAIL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), 3600))


def due(now):
    """Rows a worker may claim now: due and with attempts left, or abandoned mid-send by a dead worker."""
    waiting = Q(status__in=RETRYABLE, send_after__lte=now, attempts__lt=settings.EMAIL_MAX_ATTEMPTS)
    abandoned = Q(status=OutboxStatus.SENDING, claimed_at__lt=now - lease())
    return OutboxEmail.objects.filter(waiting | abandoned)


def claim(limit=10, now=None):
    """Claim up to `limit` due rows for this process; returns them (already marked "sending")."""
    now = now or timezone.now()
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            rows = list(due(now).select_for_update(skip_locked=True).order_by("send_after", "pk")[:limit])
            OutboxEmail.objects.filter(pk__in=[r.pk for r in rows]).update(status=OutboxStatus.SENDING, claimed_at=now)
            return rows
        claimed = []
        for row in due(now).order_by("send_after", "pk")[:limit]:
            # Conditional UPDATE: of two processes that read the same row, only one changes it.
            won = OutboxEmail.objects.filter(pk=row.pk, status=row.status, claimed_at=row.claimed_at).update(
                status=OutboxStatus.SENDING, claimed_at=now
            )
            if won:
                claimed.append(row)
        return claimed


def build_message(email):
    message = EmailMessage(
        subject=email.subject, body=email.body, to=[email.recipient], headers={"Message-ID": email.message_id}
    )
    if email.ics:
        message.attach("appointment.ics", email.ics, "text/calendar; charset=utf-8")
    return message


def deliver(email, now=None):
    """Send one claimed row and record the outcome on it. Never raises; returns True when sent,
    False when it failed, None when it was no longer wanted (a reminder for a booking moved or cancelled
    meanwhile, an offer that has ended)."""
    check = _still_wanted.get(email.kind)
    if check is not None and not check(email):
        OutboxEmail.objects.filter(pk=email.pk).update(status=OutboxStatus.CANCELLED)
        return None
    attempts = email.attempts + 1
    try:
        if not email.body and email.context.get("booking"):
            if not _write_text(email):
                # Its booking was deleted before the worker came to it: nobody to write about.
                OutboxEmail.objects.filter(pk=email.pk).update(status=OutboxStatus.CANCELLED)
                return None
        build_message(email).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001  (any transport error is recorded on the row, not raised)
        now = now or timezone.now()
        OutboxEmail.objects.filter(pk=email.pk, status=OutboxStatus.SENDING).update(
            status=OutboxStatus.FAILED,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            send_after=now + backoff(attempts),
        )
        logger.warning("Email %s (%s) failed, attempt %d: %s", email.pk, email.kind, attempts, type(exc).__name__)
        return False
    OutboxEmail.objects.filter(pk=email.pk).update(
        status=OutboxStatus.SENT, attempts=attempts, last_error="", sent_at=timezone.now()
    )
    return True


def _write_text(email):
    """Render the email from its snapshot and keep the text on the row, so a retry sends the same words and
    staff read in admin what was sent. False when there is nothing to render (the booking is gone)."""
    rendered = render(email)
    if rendered is None:
        return False
    email.body, email.ics = rendered
    OutboxEmail.objects.filter(pk=email.pk).update(body=email.body, ics=email.ics)
    return True


def drain(limit=None, now=None):
    """Claim and send due rows until none is left (or `limit` were handled). Returns (sent, failed)."""
    sent = failed = 0
    handled = 0
    while limit is None or handled < limit:
        batch = claim(limit=10 if limit is None else min(10, limit - handled), now=now)
        handled += len(batch)
        if not batch:
            break
        for email in batch:
            outcome = deliver(email, now=now)
            sent += outcome is True
            failed += outcome is False
    return sent, failed


def retry_now(queryset):
    """Make failed (or given-up) rows due again with fresh attempts; the worker sends them. Returns how many."""
    return queryset.filter(status=OutboxStatus.FAILED).update(
        status=OutboxStatus.PENDING, attempts=0, send_after=timezone.now()
    )


def given_up():
    return OutboxEmail.objects.filter(status=OutboxStatus.FAILED, attempts__gte=settings.EMAIL_MAX_ATTEMPTS)
