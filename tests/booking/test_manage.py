"""The patient's own booking page: view, cancel and move through a signed link."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from booking import workflow
from booking.forms import encode_slot
from booking.models import Booking, BookingEvent, BookingStatus, VisitType
from tests.factories import free_starts, make_clinic, make_practitioner, make_service, patient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit"), pytest.mark.clock]


@pytest.fixture
def booking():
    _, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    starts = free_starts(service, location=location)
    # Two days ahead or more: outside the 24-hour late-cancellation window.
    start = next(s for s in starts if s - timezone.now() > timedelta(days=2))
    return workflow.request_booking(
        service=service,
        visit_type=VisitType.IN_CLINIC,
        location=location,
        practitioner=None,
        start=start,
        patient=patient(),
    )


def test_opening_the_link_changes_nothing(client, booking):
    before = BookingEvent.objects.count()
    html = client.get(booking.patient_url()).content.decode()
    assert booking.reference in html and "Requested" in html
    client.get(f"/book/manage/{booking.manage_token()}/cancel/")  # a mail scanner following links
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED
    assert BookingEvent.objects.count() == before


def test_patient_cancels_with_post_and_the_time_is_free_again(client, booking, deliver):
    deliver()
    mail.outbox.clear()
    token = booking.manage_token()
    response = client.post(f"/book/manage/{token}/cancel/", {"version": booking.version})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert BookingEvent.objects.filter(booking=booking, actor="patient", to_status="cancelled").exists()
    assert mail.outbox == []  # the request itself never talks to the mail server
    assert {m.to[0] for m in deliver()} == {"alex@example.com", "desk@clinic.example"}
    assert booking.start in free_starts(booking.service, location=booking.location)
    assert "is cancelled" in client.get(response["Location"]).content.decode()


def test_tampered_or_garbage_token_gets_a_clear_page(client, booking):
    token = booking.manage_token()
    for bad in [token[:-2] + "xx", "nonsense", "a" * 300]:
        response = client.get(f"/book/manage/{bad}/")
        assert response.status_code == 404
        assert "This link doesn" in response.content.decode()
    assert client.post(f"/book/manage/{token[:-1]}Z/cancel/").status_code == 404
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED


def test_within_the_notice_period_the_page_asks_to_call(client, booking):
    Booking.objects.filter(pk=booking.pk).update(
        start=timezone.now() + timedelta(hours=3),
        end=timezone.now() + timedelta(hours=4),
        blocked_until=timezone.now() + timedelta(hours=4),
    )
    html = client.get(booking.patient_url()).content.decode()
    assert "be changed online any more" in html and "(416) 555-0100" in html
    client.post(f"/book/manage/{booking.manage_token()}/cancel/")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED


def test_link_stops_working_after_the_appointment(client, booking):
    Booking.objects.filter(pk=booking.pk).update(
        start=timezone.now() - timedelta(hours=3),
        end=timezone.now() - timedelta(hours=2),
        blocked_until=timezone.now() - timedelta(hours=2),
    )
    html = client.get(booking.patient_url()).content.decode()
    assert "has passed" in html
    assert "Cancel this appointment" not in html


def test_patient_moves_to_another_free_time(client, booking):
    booking = workflow.change_status(booking, BookingStatus.CONFIRMED, by="tester")
    token = booking.manage_token()
    new_start = next(s for s in free_starts(booking.service, location=booking.location) if s > booking.start)
    response = client.post(
        f"/book/manage/{token}/move/", {"slot": encode_slot(new_start), "action": "move", "version": booking.version}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.start == new_start
    assert booking.status == BookingStatus.REQUESTED  # back to staff review
    assert booking.reference and Booking.objects.count() == 1


def test_moving_to_a_taken_time_is_refused_kindly(client, booking):
    other_start = next(s for s in free_starts(booking.service, location=booking.location) if s > booking.start)
    workflow.request_booking(
        service=booking.service,
        visit_type=VisitType.IN_CLINIC,
        location=booking.location,
        practitioner=None,
        start=other_start,
        patient=patient(email="b@example.com"),
    )
    response = client.post(
        f"/book/manage/{booking.manage_token()}/move/",
        {"slot": encode_slot(other_start), "action": "move", "version": booking.version},
    )
    assert "That time was just taken" in response.content.decode()
    booking.refresh_from_db()
    assert booking.start != other_start
