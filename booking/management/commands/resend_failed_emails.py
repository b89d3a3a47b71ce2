"""Retry emails that failed or were never sent (safe to run from cron; attempts are bounded)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from booking.emails import resend_failed
from booking.models import OutboxEmail, OutboxStatus


class Command(BaseCommand):
    help = "Send pending and failed emails from the outbox, up to EMAIL_MAX_ATTEMPTS tries each."

    def add_arguments(self, parser):
        parser.add_argument("--max-attempts", type=int, default=settings.EMAIL_MAX_ATTEMPTS)

    def handle(self, *args, max_attempts, **options):
        sent, failed = resend_failed(max_attempts)
        gave_up = OutboxEmail.objects.filter(status=OutboxStatus.FAILED, attempts__gte=max_attempts).count()
        self.stdout.write(f"sent {sent}, still failing {failed}, given up after {max_attempts} attempts: {gave_up}")
