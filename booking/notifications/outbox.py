"""The email worker's side of the outbox: claim each due row exactly once, send it, record the outcome.

Rows are written by booking.notifications.emails inside the transaction that caused them; nothing in a web
request talks to the mail server. A worker (``manage.py run_worker``) claims due rows one at a time and sends
each. Claiming is exactly-once across any number of workers on any number of machines:

- on PostgreSQL, ``SELECT … FOR UPDATE SKIP LOCKED`` hands each row to one worker, the others skip it;
- on SQLite (one machine), the write transaction is IMMEDIATE, so claims are serialised, and every claim
  is a conditional UPDATE (status and claim time unchanged since read) that only one process can win.

A claimed row is marked "sending" with its claim time, which is the claim's token. While the row is being
sent the worker renews the claim (a slow mail server may take longer than the lease), and it records the
outcome only if the token is still its own. If the worker dies, the claim is no longer renewed and the row
is claimed again once its lease has expired, and sent with the same Message-ID.
"""

import logging
import threading
import time
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
# Emails whose text is a secret (booking.visits.codes): the worker erases it from the row once sent.
SECRET_KINDS = {"sign_in_code"}

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


def claim(limit=1, now=None):
    """Claim up to `limit` due rows for this process; returns them, marked "sending" with their claim time."""
    now = now or timezone.now()
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            rows = list(due(now).select_for_update(skip_locked=True).order_by("send_after", "pk")[:limit])
            OutboxEmail.objects.filter(pk__in=[r.pk for r in rows]).update(status=OutboxStatus.SENDING, claimed_at=now)
        else:
            rows = []
            for row in due(now).order_by("send_after", "pk")[:limit]:
                # Conditional UPDATE: of two processes that read the same row, only one changes it.
                won = OutboxEmail.objects.filter(pk=row.pk, status=row.status, claimed_at=row.claimed_at).update(
                    status=OutboxStatus.SENDING, claimed_at=now
                )
                if won:
                    rows.append(row)
    for row in rows:
        row.status, row.claimed_at = OutboxStatus.SENDING, now
    return rows


class ClaimHold:
    """Holds a claimed row's claim while it is sent: a thread renews the claim time every third of the lease,
    each time only if it is still the one this worker set (a conditional UPDATE). ``token`` is the claim
    time now on the row; ``lost`` says another worker took the row over (the claim had expired)."""

    def __init__(self, email):
        self.pk = email.pk
        self.token = email.claimed_at
        self.lost = False
        self._claimed, self._started = email.claimed_at, time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_until_stopped, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()

    def _renew_until_stopped(self):
        try:
            while not self._stop.wait(lease().total_seconds() / 3):
                # On the clock the claim was made by (tests may pass their own `now`), moved on by the time spent.
                renewed = self._claimed + timedelta(seconds=time.monotonic() - self._started)
                try:
                    held = OutboxEmail.objects.filter(
                        pk=self.pk, status=OutboxStatus.SENDING, claimed_at=self.token
                    ).update(claimed_at=renewed)
                except Exception as exc:  # noqa: BLE001  (the database may be down for a moment: try again)
                    logger.warning("Email %s: could not renew its claim (%s)", self.pk, type(exc).__name__)
                    continue
                if not held:
                    self.lost = True
                    return
                self.token = renewed
        finally:
            connection.close()  # this thread's own connection


def _record(email, hold, **fields):
    """Write the outcome on the row only while this worker still holds its claim; True when written."""
    return bool(
        OutboxEmail.objects.filter(pk=email.pk, status=OutboxStatus.SENDING, claimed_at=hold.token).update(**fields)
    )


def build_message(email):
    message = EmailMessage(
        subject=email.subject, body=email.body, to=[email.recipient], headers={"Message-ID": email.message_id}
    )
    if email.ics:
        message.attach("appointment.ics", email.ics, "text/calendar; charset=utf-8")
    return message


def deliver(email, now=None):
    """Send one claimed row and record the outcome on it, holding its claim meanwhile. Never raises; returns
    True when sent, False when it failed, None when there was nothing to send (a reminder no longer wanted, an
    offer that has ended, a deleted booking) or the claim was lost while sending (then the row is not marked
    sent, and it is logged)."""
    check = _still_wanted.get(email.kind)
    attempts = email.attempts + 1
    error = None
    with ClaimHold(email) as hold:
        if check is not None and not check(email):
            wanted = False  # a reminder moved or cancelled since it was planned; an offer that has ended
        elif not email.body and email.context.get("booking") and not _write_text(email):
            wanted = False  # its booking was deleted before the worker came to it: nobody to write about
        else:
            wanted = True
            try:
                build_message(email).send(fail_silently=False)
            except Exception as exc:  # noqa: BLE001  (any transport error is recorded on the row, not raised)
                error = exc
    if not wanted:
        _record(email, hold, status=OutboxStatus.CANCELLED)
        return None
    if error is not None:
        now = now or timezone.now()
        _record(
            email,
            hold,
            status=OutboxStatus.FAILED,
            attempts=attempts,
            last_error=f"{type(error).__name__}: {error}"[:2000],
            send_after=now + backoff(attempts),
        )
        logger.warning("Email %s (%s) failed, attempt %d: %s", email.pk, email.kind, attempts, type(error).__name__)
        return False
    sent = {"status": OutboxStatus.SENT, "attempts": attempts, "last_error": "", "sent_at": timezone.now()}
    if email.kind in SECRET_KINDS:
        sent["body"] = ""  # a sign-in code is not kept once it has been sent
    if not _record(email, hold, **sent):
        logger.error(
            "Email %s (%s) was handed to the mail server after its claim was lost to another worker; "
            "not marked sent (raise EMAIL_CLAIM_LEASE_SECONDS if the mail server is this slow)",
            email.pk,
            email.kind,
        )
        return None
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
        # One row at a time: a row is claimed just before it is sent, so the lease covers one send, not a batch.
        batch = claim(limit=1, now=now)
        if not batch:
            break
        handled += 1
        outcome = deliver(batch[0], now=now)
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
