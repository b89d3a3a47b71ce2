"""Load the clinic's content: facts, team, treatments, conditions, articles, services, hours and holidays.

Idempotent: it only creates what is missing, so running it again changes nothing and never
overwrites what staff edited in admin.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

import articles.content
import booking.content
import clinic.content
from booking.scheduling.closures import load_holiday_closures


class Command(BaseCommand):
    help = "Load the clinic's content (safe to run again: creates only what is missing)."

    def handle(self, *args, **options):
        def log(msg):
            self.stdout.write(msg)

        with transaction.atomic():
            clinic.content.load(log)
            articles.content.load(log)
            booking.content.load(log)
            load_holiday_closures(log=log)
