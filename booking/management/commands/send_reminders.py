"""Queue and send the day-before reminder for each confirmed booking, exactly once.

Safe to run as often as you like (cron every 15 minutes is fine) and from several machines at once:
a booking is claimed with a conditional UPDATE of ``reminder_queued_at`` (only one run can win it),
and the outbox's unique constraint (one reminder per booking) backs that up. Reminders go through
the same outbox as every other email; a failed one stays in the outbox with its error, visible and
retryable in admin (or with ``manage.py resend_failed_emails``).
"""

from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from booking import emails
from booking.models import Booking, BookingStatus, OutboxEmail, OutboxStatus

# A reminder still waiting after this long was queued by a run that stopped before sending it.
STALE_PENDING = timedelta(minutes=5)


def tomorrow_range(now):
    tz = timezone.get_default_timezone()
    tomorrow = timezone.localtime(now, tz).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time.min, tzinfo=tz)
    end = datetime.combine(tomorrow + timedelta(days=1), time.min, tzinfo=tz)
    return tomorrow, start, end


def queue_reminders(now=None):
    """Queue one reminder per confirmed booking starting tomorrow (clinic date). Returns how many."""
    now = now or timezone.now()
    _day, start, end = tomorrow_range(now)
    candidates = Booking.objects.filter(
        status=BookingStatus.CONFIRMED, start__gte=start, start__lt=end, reminder_queued_at__isnull=True
    ).values_list("pk", flat=True)
    queued = 0
    for pk in list(candidates):
        with transaction.atomic():
            # Claim the booking: of two concurrent runs only one updates the row.
            claimed = Booking.objects.filter(
                pk=pk, status=BookingStatus.CONFIRMED, reminder_queued_at__isnull=True
            ).update(reminder_queued_at=now)
            if not claimed:
                continue
            booking = Booking.objects.select_related("service", "practitioner", "location").get(pk=pk)
            try:
                with transaction.atomic():
                    emails.queue(emails.Kind.REMINDER, booking)
            except IntegrityError:
                # Already in the outbox (one reminder per booking): nothing more to do.
                continue
            queued += 1
    return queued


def send_stale_pending(now=None):
    """Send reminders left waiting by an earlier run that stopped before sending."""
    now = now or timezone.now()
    sent = 0
    ids = OutboxEmail.objects.filter(
        kind=emails.Kind.REMINDER, status=OutboxStatus.PENDING, created__lt=now - STALE_PENDING
    ).values_list("pk", flat=True)
    for pk in list(ids):
        with transaction.atomic():
            rows = OutboxEmail.objects.select_for_update(skip_locked=True).filter(pk=pk, status=OutboxStatus.PENDING)
            email = rows.first()
            if email is not None:
                sent += emails.send_one(email)
    return sent


class Command(BaseCommand):
    help = "Queue the day-before reminder for confirmed bookings (once each) and send it."

    def handle(self, *args, **options):
        now = timezone.now()
        day, _start, _end = tomorrow_range(now)
        queued = queue_reminders(now)
        resent = send_stale_pending(now)
        self.stdout.write(
            _(
                "Reminders for %(day)s: %(queued)d queued (each is sent as soon as it is queued), "
                "%(resent)d left over from an earlier run sent now."
            )
            % {"day": f"{day:%Y-%m-%d}", "queued": queued, "resent": resent}
        )
        failed = OutboxEmail.objects.filter(kind=emails.Kind.REMINDER, status=OutboxStatus.FAILED).count()
        if failed:
            self.stdout.write(
                _(
                    "%(failed)d reminder(s) failed to send and wait in the outbox: "
                    "retry them from admin (Email outbox) or with manage.py resend_failed_emails."
                )
                % {"failed": failed}
            )
