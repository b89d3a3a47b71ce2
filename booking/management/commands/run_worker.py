"""The email worker: sends every outbox row when it is due, plans reminders and offers freed times to the
waitlist (booking/waitlist/offers.py). Run one or more anywhere.

Each row is claimed by exactly one worker (see booking.notifications.outbox), so any number of workers on any number
of machines can run at once. Stops cleanly on Ctrl-C / SIGTERM after the email in hand.
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from booking.notifications import outbox, reminders
from booking.scheduling.availability import availability_version
from booking.waitlist import offers

logger = logging.getLogger("booking.worker")
PLAN_EVERY_SECONDS = 300
# The waitlist pass runs when free times may have changed (the availability version moved) and at least this
# often otherwise, so an ended hold or a finished pause moves on within that time.
WAITLIST_EVERY_SECONDS = 15


class Command(BaseCommand):
    help = "Send queued emails (with retries and backoff), plan reminders and offer freed times, until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what is due now, then exit.")
        parser.add_argument("--poll", type=float, default=None, help="Seconds between checks for due email.")

    def handle(self, *args, once=False, poll=None, **options):
        poll = settings.WORKER_POLL_SECONDS if poll is None else poll
        self.stopping = False
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        last_plan = 0.0
        last_waitlist, seen_version = 0.0, None
        while True:
            if not once:
                close_old_connections()  # a long-running process: drop connections the database closed
            try:
                if time.monotonic() - last_plan >= PLAN_EVERY_SECONDS or once:
                    reminders.plan_missing()
                    last_plan = time.monotonic()
                version = availability_version()
                if once or version != seen_version or time.monotonic() - last_waitlist >= WAITLIST_EVERY_SECONDS:
                    offers.offer_freed_times()
                    last_waitlist, seen_version = time.monotonic(), availability_version()
                sent, failed = outbox.drain(limit=50)
            except Exception:  # a database outage: log it, wait, try again (the rows are safe in the table)
                if once:
                    raise
                logger.exception("email worker: pass failed; retrying in %ss", poll)
                sent = failed = 0
            if sent or failed:
                self.stdout.write(f"sent {sent}, failed {failed}")
            if once or self.stopping:
                return
            if not (sent or failed):
                self._sleep(poll)
            if self.stopping:
                return

    def _sleep(self, seconds):
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.2, seconds))

    def _stop(self, signum, frame):
        self.stopping = True
