"""Give failed emails a fresh set of attempts and send what is due, exactly once each.

Safe to run while workers run and from several machines at once: it only marks failed rows due again
and then sends through the same exactly-once claim as the worker (booking.notifications.outbox), so no row is ever
sent by two processes.
"""

from django.core.management.base import BaseCommand

from booking.models import OutboxEmail
from booking.notifications import outbox


class Command(BaseCommand):
    help = "Mark failed outbox emails due again (fresh attempts) and send due emails once."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-send", action="store_true", help="Only mark them due; leave sending to the running worker."
        )

    def handle(self, *args, no_send=False, **options):
        requeued = outbox.retry_now(OutboxEmail.objects.all())
        sent = failed = 0
        if not no_send:
            sent, failed = outbox.drain()
        gave_up = outbox.given_up().count()
        self.stdout.write(
            f"requeued {requeued}, sent {sent}, still failing {failed}, given up after retries: {gave_up}"
        )
