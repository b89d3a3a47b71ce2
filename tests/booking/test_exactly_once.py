"""Exactly once under real concurrency (PostgreSQL, one connection per thread): each scenario counts what
a clinic would notice — bookings, history events, emails written and messages a mail server received."""

import re
import socket
import threading
from datetime import timedelta
from io import StringIO

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone

from booking import workflow
from booking.forms import encode_slot
from booking.models import Booking, BookingEvent, BookingStatus, OutboxEmail, OutboxStatus, VisitType
from booking.notifications import outbox
from tests.factories import form_data, free_starts, make_clinic, make_practitioner, make_service, patient
from tests.mail_backends import local_smtp_settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def at_once(*calls):
    """Run each call in its own thread (own database connection), released together; return results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001  (reported to the test as a result)
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def clinic():
    _, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    starts = [s for s in free_starts(service, location=location) if s - timezone.now() > timedelta(days=2)]
    booking = workflow.request_booking(
        service=service,
        visit_type=VisitType.IN_CLINIC,
        location=location,
        practitioner=None,
        start=starts[0],
        patient=patient(),
    )
    OutboxEmail.objects.all().delete()  # count only what the scenario writes
    return {"booking": booking, "service": service, "location": location, "starts": starts}


def moves(booking):
    return BookingEvent.objects.filter(booking=booking, note__startswith="Moved").count()


def patient_move(booking, start, version):
    def call():
        return Client().post(
            f"/book/manage/{booking.manage_token()}/move/",
            {"slot": encode_slot(start), "action": "move", "version": version},
        )

    return call


def test_the_same_move_form_sent_twice_at_once_moves_once(clinic):
    booking, new_start = clinic["booking"], clinic["starts"][3]
    results = at_once(patient_move(booking, new_start, 1), patient_move(booking, new_start, 1))
    assert [r.status_code for r in results] == [302, 302]
    booking.refresh_from_db()
    assert booking.start == new_start
    assert moves(booking) == 1  # one "Moved" event
    assert OutboxEmail.objects.filter(kind__in=["moved", "moved_notice"]).count() == 2  # one set: patient + clinic


def test_a_stale_move_after_a_staff_confirm_changes_nothing(clinic):
    booking = clinic["booking"]
    results = at_once(
        lambda: workflow.change_status(booking, BookingStatus.CONFIRMED, by="desk", version=1),
        patient_move(booking, clinic["starts"][3], 1),  # the page was opened before the confirm
    )
    booking.refresh_from_db()
    if booking.status == BookingStatus.CONFIRMED and booking.start == clinic["starts"][0]:
        assert moves(booking) == 0  # the confirm won; the move form was stale and changed nothing
        assert not OutboxEmail.objects.filter(kind="moved").exists()
    else:  # the move won first: the confirm form was then stale
        assert isinstance(results[0], workflow.Stale) and booking.status == BookingStatus.REQUESTED
    # Either way: one change, never a confirmed booking turned back into a request by a stale form.
    assert BookingEvent.objects.filter(booking=booking).count() == 2  # requested + the one change


def test_staff_reschedule_and_patient_move_to_one_time_record_one_move(clinic):
    booking, new_start = clinic["booking"], clinic["starts"][4]
    results = at_once(
        lambda: workflow.reschedule(booking, new_start, by="desk", version=1),
        patient_move(booking, new_start, 1),
    )
    booking.refresh_from_db()
    assert booking.start == new_start and moves(booking) == 1
    assert sum(isinstance(r, Booking) or getattr(r, "status_code", 0) == 302 for r in results) == 2
    assert OutboxEmail.objects.filter(kind="moved").count() == 1


def test_confirm_and_cancel_at_once_make_one_change(clinic):
    booking = clinic["booking"]
    results = at_once(
        lambda: workflow.change_status(booking, BookingStatus.CONFIRMED, by="desk", version=1),
        lambda: workflow.change_status(booking, BookingStatus.CANCELLED, by=workflow.PATIENT, version=1),
    )
    booking.refresh_from_db()
    assert sum(isinstance(r, Booking) for r in results) == 1
    assert sum(isinstance(r, workflow.Stale) for r in results) == 1
    assert BookingEvent.objects.filter(booking=booking).count() == 2
    expected = {"confirmation"} if booking.status == BookingStatus.CONFIRMED else {"cancelled", "cancelled_notice"}
    assert set(OutboxEmail.objects.exclude(kind="reminder").values_list("kind", flat=True)) == expected


# --- the email worker ---------------------------------------------------------------------------------


class EveryThirdRefused:
    """A mail server that refuses every third message (451, try again later)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = 0
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.seen += 1
            if self.seen % 3 == 0:
                return "451 4.3.0 Try again later"
            self.accepted.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = EveryThirdRefused()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        # Retry at once, so the test needs no clock.
        with local_smtp_settings(port, EMAIL_RETRY_BASE_SECONDS=0, EMAIL_MAX_ATTEMPTS=10):
            yield handler
    finally:
        controller.stop()


def _queue_rows(clinic, n):
    booking = clinic["booking"]
    from booking.notifications import emails

    for _ in range(n):
        emails.queue(emails.Kind.ACKNOWLEDGEMENT, booking)


def _message_ids(messages):
    return [re.search(r"^Message-ID: (\S+)", m, re.M | re.I).group(1) for m in messages]


def test_three_workers_draining_one_outbox_deliver_each_row_once(clinic, smtp):
    _queue_rows(clinic, 30)

    def worker():
        sent = 0
        while OutboxEmail.objects.exclude(status=OutboxStatus.SENT).exists():
            sent += outbox.drain()[0]
        return sent

    results = at_once(worker, worker, worker)
    assert sum(results) == 30
    assert OutboxEmail.objects.filter(status=OutboxStatus.SENT).count() == 30
    ids = _message_ids(smtp.accepted)
    assert len(smtp.accepted) == 30  # the mail server accepted exactly one message per row
    assert sorted(ids) == sorted(OutboxEmail.objects.values_list("message_id", flat=True))
    assert smtp.seen > 30  # some were refused and retried


def test_resend_command_run_three_times_at_once_sends_each_failed_row_once(clinic, smtp):
    _queue_rows(clinic, 12)
    OutboxEmail.objects.update(status=OutboxStatus.FAILED, attempts=10, last_error="earlier outage")

    def resend():
        out = StringIO()
        call_command("resend_failed_emails", stdout=out)
        return out.getvalue()

    at_once(resend, resend, resend)
    while OutboxEmail.objects.exclude(status=OutboxStatus.SENT).exists():  # the worker finishes the refused
        outbox.drain()
    assert len(smtp.accepted) == 12  # 12 failed rows -> 12 messages (was 36)
    assert len(set(_message_ids(smtp.accepted))) == 12


# --- limits -------------------------------------------------------------------------------------------


def _book(clinic, i, *, ip, email):
    def call():
        data = form_data(clinic["service"], clinic["starts"][i + 1], clinic["location"], email=email)
        return Client().post("/book/", data, REMOTE_ADDR=ip)

    return call


@override_settings(BOOKING_RATE_LIMIT=5)
def test_twelve_requests_from_one_address_against_a_limit_of_five(clinic):
    results = at_once(*[_book(clinic, i, ip="203.0.113.9", email=f"p{i}@example.com") for i in range(12)])
    assert [r.status_code for r in results].count(302) == 5
    assert Booking.objects.count() == 1 + 5


@override_settings(BOOKING_MAX_OPEN_PER_EMAIL=3, BOOKING_RATE_LIMIT=100)
def test_ten_requests_with_one_email_against_a_cap_of_three(clinic):
    Booking.objects.all().delete()
    variants = ["Sam.Lee+{}@Example.com", "sam.lee+{}@example.com", "SAM.LEE@example.com"]
    calls = [
        _book(clinic, i, ip=f"198.51.100.{i + 1}", email=variants[i % 3].format(i)) for i in range(10)
    ]  # one mailbox written three ways
    results = at_once(*calls)
    assert [r.status_code for r in results].count(302) == 3
    assert Booking.objects.count() == 3
    refused = [r.content.decode() for r in results if r.status_code == 200]
    assert all("already has open requests" in page for page in refused)


def test_arrived_pressed_on_two_screens_at_once_is_recorded_once(clinic):
    from django.urls import reverse

    from tests.factories import make_booking, make_staff

    start = timezone.now().replace(second=0, microsecond=0)
    booking = make_booking(
        clinic["booking"].practitioner, clinic["service"], start, location=clinic["location"], status="confirmed"
    )
    desk = make_staff("desk", superuser=True)  # transactional tests flush the groups the migration made
    screens = [Client(), Client(), Client()]
    for screen in screens:
        screen.force_login(desk)
    url = reverse("admin:booking_booking_transition", args=[booking.pk, "arrive"])

    def press(screen):
        return lambda: screen.post(url, {"version": booking.version})

    results = at_once(*(press(s) for s in screens), lambda: workflow.mark_arrived(booking, by="desk"))
    assert [r.status_code for r in results[:3]] == [302, 302, 302]
    booking.refresh_from_db()
    assert booking.arrived_at is not None
    assert BookingEvent.objects.filter(booking=booking, note__startswith="Arrived").count() == 1
