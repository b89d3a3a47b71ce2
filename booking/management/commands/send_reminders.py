"""Plan reminders now for confirmed bookings that have none (the email worker also does this every few
minutes, and sends each reminder when it is due; no cron line is needed)."""

from django.core.management.base import BaseCommand

from booking.notifications.reminders import plan_missing


class Command(BaseCommand):
    help = "Plan the reminder of every upcoming confirmed booking that has none; the worker sends them."

    def handle(self, *args, **options):
        planned = plan_missing()
        self.stdout.write(f"reminders planned: {planned}")
