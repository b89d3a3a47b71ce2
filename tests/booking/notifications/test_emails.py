"""Emails are written by the worker, from a snapshot taken when they were queued: a web request only stores the
kind, the booking and what the email must show, and every email still says what was true at its moment."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from booking import workflow
from booking.models import Booking, BookingPolicy, BookingStatus, OutboxEmail, OutboxStatus, VisitType
from booking.notifications import outbox
from clinic import datetimes
from tests.factories import FrontDeskClinic, patient

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 12, 9, 10, 0, tzinfo=TZ)  # a Wednesday morning


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(clock):
    return FrontDeskClinic()


def at(day, hour, minute=0):
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def request(clinic, start):
    return workflow.request_booking(
        service=clinic.service,
        visit_type=VisitType.IN_CLINIC,
        location=clinic.location,
        practitioner=None,
        start=start,
        patient=patient(),
    )


def sent(kind):
    (message,) = [m for m in mail.outbox if m.subject == OutboxEmail.objects.get(kind=kind).subject]
    return message


def test_a_request_queues_a_snapshot_without_health_details_and_the_worker_writes_the_text(clinic):
    booking = request(clinic, at(11, 10))
    rows = OutboxEmail.objects.filter(booking=booking)
    assert {r.kind for r in rows} == {"acknowledgement", "new_request"}
    for row in rows:
        assert row.body == "" and row.subject  # the subject now, the text by the worker
        assert "Calf cramps" not in str(row.context) and "reason" not in row.context["booking"]
    assert outbox.drain() == (2, 0)
    ack = sent("acknowledgement")
    assert ack.to == ["alex@example.com"] and ack.body.startswith("Hello Alex Morgan,")
    assert booking.reference in ack.body and "/book/manage/" in ack.body
    assert datetimes.local_when(booking.start) in ack.body and "With: Pat Lee" in ack.body
    assert "Thank you for your appointment request" in ack.body
    desk = sent("new_request")
    assert desk.to == ["desk@clinic.example"] and f"/booking/booking/{booking.pk}/change/" in desk.body
    for message in mail.outbox:
        assert "Calf cramps" not in message.body
    # The text sent stays on the row: staff read it in admin, a retry sends the same words.
    row = OutboxEmail.objects.get(kind="acknowledgement")
    assert row.status == OutboxStatus.SENT and row.body == ack.body


def test_each_email_shows_the_booking_as_it_was_when_it_was_queued(clinic):
    booking = request(clinic, at(11, 10))
    workflow.change_status(booking, BookingStatus.CONFIRMED, by=clinic.desk)
    moved = workflow.reschedule(Booking.objects.get(pk=booking.pk), at(14, 11), by=clinic.desk)
    assert moved.start == at(14, 11)
    outbox.drain()  # the worker comes to all three only now
    ack, confirmation, move = sent("acknowledgement"), sent("confirmation"), sent("moved")
    assert "Thank you for your appointment request" in ack.body  # not "confirmed": it was a request then
    assert datetimes.local_when(at(11, 10)) in ack.body and datetimes.local_when(at(11, 10)) in confirmation.body
    assert datetimes.local_when(at(14, 11)) in move.body and "moved and is confirmed" in move.body
    first_ics, second_ics = confirmation.attachments[0][1], move.attachments[0][1]
    assert "SEQUENCE:1" in first_ics and "DTSTART;TZID=America/Toronto:20261211T100000" in first_ics
    assert "SEQUENCE:2" in second_ics and "DTSTART;TZID=America/Toronto:20261214T110000" in second_ics


def test_instant_confirmation_attaches_the_calendar_file(clinic):
    BookingPolicy.objects.create(confirm_instantly=True)
    booking = request(clinic, at(11, 10))
    assert booking.status == BookingStatus.CONFIRMED
    outbox.drain()
    confirmation = sent("confirmation")
    name, content, mimetype = confirmation.attachments[0]
    assert name == "appointment.ics" and mimetype.startswith("text/calendar")
    assert f"UID:booking-{booking.reference}@" in content and "STATUS:CONFIRMED" in content


def test_a_cancellation_carries_a_cancel_calendar_and_a_decline_its_note(clinic):
    confirmed = clinic.booking(at(11, 10), status=BookingStatus.CONFIRMED)
    workflow.change_status(confirmed, BookingStatus.CANCELLED, by=clinic.desk)
    requested = clinic.booking(at(11, 12), practitioner=clinic.sam)
    workflow.change_status(requested, BookingStatus.DECLINED, by=clinic.desk, note="Fully booked that week")
    outbox.drain()
    assert "METHOD:CANCEL" in sent("cancelled").attachments[0][1]
    assert "Fully booked that week" in sent("declined").body


def test_a_retry_after_a_failure_sends_the_text_written_the_first_time(clinic, clock):
    booking = request(clinic, at(11, 10))
    with override_settings(EMAIL_BACKEND="tests.mail_backends.FailingBackend"):
        assert outbox.drain() == (0, 2)
    row = OutboxEmail.objects.get(kind="acknowledgement")
    assert row.status == OutboxStatus.FAILED and row.body.startswith("Hello")
    Booking.objects.filter(pk=booking.pk).update(patient_name="Changed Later")
    clock.shift(timedelta(minutes=2))
    assert outbox.drain() == (2, 0)
    assert sent("acknowledgement").body == row.body


def test_staff_see_the_text_of_an_email_not_sent_yet_without_the_patient_link(clinic, client):
    request(clinic, at(11, 10))
    client.force_login(clinic.desk)
    row = OutboxEmail.objects.get(kind="acknowledgement")
    page = client.get(reverse("admin:booking_outboxemail_change", args=[row.pk])).content.decode()
    assert "Hello Alex Morgan," in page and "/book/manage/" not in page
    row.refresh_from_db()
    assert row.body == "" and row.status == OutboxStatus.PENDING  # looking at it sends and saves nothing


def test_an_email_for_a_deleted_booking_is_not_sent(clinic):
    booking = clinic.booking(at(11, 10))
    workflow.change_status(booking, BookingStatus.DECLINED, by=clinic.desk)
    OutboxEmail.objects.update(booking=None)  # as after the booking was deleted
    assert outbox.drain() == (0, 0)
    assert mail.outbox == [] and OutboxEmail.objects.get().status == OutboxStatus.CANCELLED


def test_anonymising_old_bookings_clears_the_snapshot_too(clinic, clock):
    booking = request(clinic, at(11, 10))
    clock.move_to(NOW + timedelta(days=800))
    call_command("purge_bookings", "--older-than", "24", stdout=StringIO())
    row = OutboxEmail.objects.filter(booking=booking).first()
    assert row.context == {} and row.body == ""
