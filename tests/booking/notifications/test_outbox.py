"""The email worker: every email is sent by it (never by a web request), once, with retries and a
stable Message-ID; and reminders are planned for the booking's current time and sent when due."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import override_settings

from booking import workflow
from booking.models import Booking, BookingStatus, OutboxEmail, OutboxStatus
from booking.notifications import outbox
from booking.notifications.reminders import plan_missing, reminder_time
from tests.factories import FrontDeskClinic

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

TZ = ZoneInfo("America/Toronto")
# A Wednesday morning in the clinic's zone; every test here runs at a fixed moment.
NOW = datetime(2026, 12, 9, 10, 0, tzinfo=TZ)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(clock):
    return FrontDeskClinic()


def at(day, hour, minute=0):
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- sending ------------------------------------------------------------------------------------


def test_each_row_is_sent_once_with_its_own_message_id(clinic):
    booking = clinic.booking(at(12, 10))
    workflow.change_status(booking, BookingStatus.DECLINED, by=clinic.desk, note="Fully booked")
    row = OutboxEmail.objects.get(kind="declined")
    assert mail.outbox == [] and row.status == OutboxStatus.PENDING  # written, not sent, by the change
    assert outbox.drain() == (1, 0)
    assert outbox.drain() == (0, 0)  # nothing is ever sent twice
    (message,) = mail.outbox
    assert message.extra_headers["Message-ID"] == row.message_id
    assert message.message()["Message-ID"] == row.message_id
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.sent_at is not None


@override_settings(EMAIL_MAX_ATTEMPTS=3, EMAIL_RETRY_BASE_SECONDS=60)
def test_failures_back_off_then_stop_and_stay_visible_and_retryable(clinic, clock):
    booking = clinic.booking(at(12, 10))
    workflow.change_status(booking, BookingStatus.DECLINED, by=clinic.desk, note="Fully booked")
    row = OutboxEmail.objects.get(kind="declined")
    with override_settings(EMAIL_BACKEND="tests.mail_backends.FailingBackend"):
        assert outbox.drain() == (0, 1)
        assert outbox.drain() == (0, 0)  # not due yet: the next try waits a minute
        clock.shift(timedelta(seconds=61))
        assert outbox.drain() == (0, 1)
        clock.shift(timedelta(seconds=119))
        assert outbox.drain() == (0, 0)  # the second wait is two minutes
        clock.shift(timedelta(seconds=2))
        assert outbox.drain() == (0, 1)
        clock.shift(timedelta(days=1))
        assert outbox.drain() == (0, 0)  # three attempts: given up, left for staff
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.attempts == 3 and "SMTPServerDisconnected" in row.last_error
    assert list(outbox.given_up()) == [row]
    out = run("resend_failed_emails")
    assert "requeued 1, sent 1, still failing 0, given up after retries: 0" in out
    assert len(mail.outbox) == 1 and mail.outbox[0].extra_headers["Message-ID"] == row.message_id
    assert "requeued 0, sent 0" in run("resend_failed_emails")  # run again: nothing is sent twice
    assert len(mail.outbox) == 1


def test_a_row_abandoned_mid_send_is_sent_again_with_the_same_message_id(clinic, clock):
    booking = clinic.booking(at(12, 10))
    workflow.change_status(booking, BookingStatus.DECLINED, by=clinic.desk, note="Fully booked")
    (row,) = outbox.claim()  # a worker claims it, then dies before recording the outcome
    assert outbox.claim() == []  # while its lease runs, no other worker touches it
    clock.shift(timedelta(minutes=6))
    (again,) = outbox.claim()
    assert again.pk == row.pk
    assert outbox.deliver(again) is True
    assert mail.outbox[0].extra_headers["Message-ID"] == row.message_id


def test_the_worker_command_sends_what_is_due_and_stops(clinic):
    booking = clinic.booking(at(12, 10))
    workflow.change_status(booking, BookingStatus.CONFIRMED, by=clinic.desk)
    out = run("run_worker", "--once")
    assert "sent 1, failed 0" in out  # the confirmation; the reminder waits for its time
    assert [m.subject.split(" –")[0] for m in mail.outbox] == ["Your appointment is confirmed"]


# --- reminders ----------------------------------------------------------------------------------


def test_reminder_time_day_before_late_or_none(settings):
    settings.BOOKING_REMINDER_HOUR = 18
    settings.BOOKING_LATE_REMINDER_HOURS = 2
    assert reminder_time(at(11, 9), now=at(9, 10)) == at(10, 18)  # the evening before
    assert reminder_time(at(11, 9), now=at(10, 19)) == at(11, 7)  # confirmed after that: two hours before
    assert reminder_time(at(11, 9), now=at(11, 7, 30)) is None  # too late for either
    settings.BOOKING_LATE_REMINDER_HOURS = 0
    assert reminder_time(at(11, 9), now=at(10, 19)) is None


def test_confirm_plans_one_reminder_the_worker_sends_when_due(clinic, client, clock):
    booking = clinic.booking(at(11, 9))
    booking = workflow.change_status(booking, BookingStatus.CONFIRMED, by=clinic.desk)
    reminder = OutboxEmail.objects.get(kind="reminder")
    assert reminder.send_after == at(10, 18) and reminder.for_start == booking.start
    page = client.get(booking.patient_url()).content.decode()
    assert "reminder on Thursday 10 December" in page
    outbox.drain()
    mail.outbox.clear()
    clock.move_to(at(10, 17, 59))
    outbox.drain()
    assert mail.outbox == []
    clock.move_to(at(10, 18, 1))
    outbox.drain()
    (message,) = mail.outbox
    assert message.to == [booking.email] and "Friday 11 December" in message.subject
    assert "Night cramps" not in message.body  # no health details
    assert plan_missing() == 0 and OutboxEmail.objects.filter(kind="reminder").count() == 1


def test_moving_replaces_the_pending_reminder(clinic):
    booking = workflow.change_status(clinic.booking(at(11, 9)), BookingStatus.CONFIRMED, by=clinic.desk)
    booking = workflow.reschedule(booking, at(14, 10), by=clinic.desk, version=booking.version)
    reminders = OutboxEmail.objects.filter(kind="reminder")
    assert sorted(reminders.values_list("status", flat=True)) == [OutboxStatus.CANCELLED, OutboxStatus.PENDING]
    pending = reminders.get(status=OutboxStatus.PENDING)
    assert pending.for_start == at(14, 10) and pending.send_after == at(13, 18)


def test_a_booking_moved_after_its_reminder_went_out_gets_one_for_the_new_time(clinic, clock):
    booking = workflow.change_status(clinic.booking(at(11, 9)), BookingStatus.CONFIRMED, by=clinic.desk)
    clock.move_to(at(10, 18, 5))
    outbox.drain()
    assert OutboxEmail.objects.get(kind="reminder").status == OutboxStatus.SENT
    booking = workflow.reschedule(booking, at(15, 10), by=clinic.desk, version=booking.version)
    new = OutboxEmail.objects.get(kind="reminder", status=OutboxStatus.PENDING)
    assert new.for_start == at(15, 10) and new.send_after == at(14, 18)


def test_late_confirmation_gets_a_reminder_two_hours_before(clinic, client, clock):
    booking = clinic.booking(at(10, 9))  # tomorrow morning
    clock.move_to(at(9, 20))  # confirmed after the evening's reminder time
    booking = workflow.change_status(booking, BookingStatus.CONFIRMED, by=clinic.desk)
    reminder = OutboxEmail.objects.get(kind="reminder")
    assert reminder.send_after == at(10, 7)
    assert "reminder on Thursday 10 December" in client.get(booking.patient_url()).content.decode()


def test_no_reminder_left_means_no_promise(clinic, client, clock, settings):
    settings.BOOKING_LATE_REMINDER_HOURS = 0
    booking = clinic.booking(at(10, 9))
    clock.move_to(at(9, 20))
    booking = workflow.change_status(booking, BookingStatus.CONFIRMED, by=clinic.desk)
    assert not OutboxEmail.objects.filter(kind="reminder").exists()
    html = client.get(booking.patient_url()).content.decode()
    assert "Confirmed" in html and "reminder" not in html


def test_cancelling_withdraws_the_reminder_and_a_claimed_stale_one_is_not_sent(clinic, clock):
    booking = workflow.change_status(clinic.booking(at(11, 9)), BookingStatus.CONFIRMED, by=clinic.desk)
    outbox.drain()
    mail.outbox.clear()
    clock.move_to(at(10, 18, 1))
    (claimed,) = outbox.claim()  # the worker took the reminder...
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CANCELLED)  # ...as the booking was cancelled
    assert outbox.deliver(claimed) is None
    assert mail.outbox == []
    assert OutboxEmail.objects.get(kind="reminder").status == OutboxStatus.CANCELLED


def test_the_worker_plans_reminders_for_bookings_confirmed_without_one(clinic):
    clinic.booking(at(11, 9), status=BookingStatus.CONFIRMED)  # e.g. confirmed before the worker existed
    clinic.booking(at(11, 11), status=BookingStatus.REQUESTED)
    assert "reminders planned: 1" in run("send_reminders")
    assert plan_missing() == 0
    assert OutboxEmail.objects.get(kind="reminder").send_after == at(10, 18)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_plan_one_reminder_each():
    """Several workers planning at once (PostgreSQL, real transactions): still exactly one reminder each."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from booking.notifications.reminders import plan_missing
    from tests.factories import FRONT_DESK_HOURS, local, make_booking, make_clinic, make_practitioner, make_service

    # No staff user here: a transactional test may run after another one flushed the groups.
    _profile, location = make_clinic()
    practitioner = make_practitioner("Pat Lee", location=location, hours=FRONT_DESK_HOURS)
    service = make_service([practitioner])
    bookings = [
        make_booking(practitioner, service, local(1, 8 + i), status=BookingStatus.CONFIRMED, location=location)
        for i in range(5)
    ]

    def one_run(_):
        try:
            return plan_missing()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        queued = sum(pool.map(one_run, range(4)))
    assert queued == 5
    for booking in bookings:
        assert OutboxEmail.objects.filter(kind="reminder", booking=booking).count() == 1


def _queue(n):
    for i in range(n):
        OutboxEmail.objects.create(
            kind="confirmation", recipient=f"p{i}@example.com", subject=f"Visit {i}", body="See you soon."
        )


@override_settings(EMAIL_BACKEND="tests.mail_backends.TakenOverBackend")
def test_a_row_whose_claim_was_lost_while_sending_is_not_marked_sent(caplog):
    _queue(1)
    assert outbox.drain() == (0, 0)
    assert len(mail.outbox) == 1  # it did reach the mail server...
    row = OutboxEmail.objects.get()
    assert row.status == OutboxStatus.SENDING and row.sent_at is None  # ...but the other worker's claim stands
    assert "claim was lost" in caplog.text and "p0@example.com" not in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND="tests.mail_backends.SlowBackend", EMAIL_CLAIM_LEASE_SECONDS=0.6)
def test_two_workers_and_a_mail_server_slower_than_the_lease_send_each_email_once(monkeypatch, caplog):
    """Each message takes 1.5 s, the lease is 0.6 s: the worker sending a row keeps its claim renewed, so
    the other worker never takes it over; both keep working until everything is sent."""
    import threading
    import time

    from django.db import connections

    from tests.mail_backends import SlowBackend

    monkeypatch.setattr(SlowBackend, "seconds", 1.5)
    _queue(4)
    sent_by = []

    def worker():
        try:
            while OutboxEmail.objects.exclude(status=OutboxStatus.SENT).exists():
                sent_by.append(outbox.drain()[0])
                time.sleep(0.05)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    assert sorted(m.to[0] for m in mail.outbox) == [f"p{i}@example.com" for i in range(4)]  # each exactly once
    assert sum(sent_by) == 4
    assert set(OutboxEmail.objects.values_list("status", "attempts")) == {(OutboxStatus.SENT, 1)}
    assert "claim was lost" not in caplog.text


def test_the_worker_takes_a_poll_interval_in_fractions_of_a_second(monkeypatch, tmp_path):
    """WORKER_POLL_SECONDS=0.5 from the environment: the settings read it, and the worker waits that long."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from booking.management.commands import run_worker

    code = "import django; django.setup(); from django.conf import settings; print(settings.WORKER_POLL_SECONDS)"
    env = {**os.environ, "WORKER_POLL_SECONDS": "0.5", "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0.5"

    monkeypatch.setattr(run_worker.signal, "signal", lambda *args: None)  # keep pytest's own Ctrl-C handler
    monkeypatch.setattr(run_worker, "close_old_connections", lambda: None)  # the test's transaction stays open
    command = run_worker.Command(stdout=StringIO())
    waits = []

    def wait(seconds):
        waits.append(seconds)
        command.stopping = len(waits) >= 2

    monkeypatch.setattr(command, "_sleep", wait)
    with override_settings(WORKER_POLL_SECONDS=0.5):
        command.handle()
    assert waits == [0.5, 0.5]
