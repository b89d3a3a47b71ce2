"""List the health records kept past their retention period, for the privacy officer to review.

    manage.py health_records_past_retention

Prints the booking reference, form, last visit and the date the record could go; never an answer or a name.
Nothing is changed or deleted.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from booking.intake.retention import past_retention


class Command(BaseCommand):
    help = "List health records past their retention period (nothing is changed)."

    def handle(self, *args, **options):
        rows = past_retention()
        years = settings.HEALTH_RECORD_RETENTION_YEARS
        if not rows:
            self.stdout.write(f"No health record is past retention ({years} years after the last visit).")
            return
        self.stdout.write(f"{len(rows)} health record(s) past retention ({years} years after the last visit):")
        self.stdout.write("booking\tform\tlast visit\tkeep until")
        for row in rows:
            form = row.form
            self.stdout.write(
                f"{form.booking.reference}\t{form.kind}\t{row.last_visit:%Y-%m-%d}\t{row.keep_until:%Y-%m-%d}"
            )
