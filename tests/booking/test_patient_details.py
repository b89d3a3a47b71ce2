"""Small things a patient or a member of staff notices: one set of hours, a branded refusal, a link to rebook."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from booking import workflow
from booking.models import BookingStatus, VisitType
from tests.factories import free_starts, make_clinic, make_practitioner, make_service, make_staff, patient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit"), pytest.mark.clock]


@pytest.fixture
def booking():
    _, location = make_clinic()
    service = make_service([make_practitioner(location=location)])
    start = next(s for s in free_starts(service, location=location) if s - timezone.now() > timedelta(days=2))
    return workflow.request_booking(
        service=service,
        visit_type=VisitType.IN_CLINIC,
        location=location,
        practitioner=None,
        start=start,
        patient=patient(),
    )


def test_an_editor_refused_a_page_gets_the_clinic_page_with_a_way_back(client):
    make_clinic()
    client.force_login(make_staff("ed", "Editor"))
    response = client.get(reverse("admin:booking_booking_changelist"))
    html = response.content.decode()
    assert response.status_code == 403
    assert "You can't open this page" in html and "Test Clinic" in html
    assert f'href="{reverse("admin:index")}"' in html and "Back to the staff pages" in html


def test_move_and_cancel_pages_name_the_zone_without_a_double_stop(client, booking):
    token = booking.manage_token()
    for name in ("booking:move", "booking:cancel", "booking:manage"):
        html = client.get(reverse(name, args=[token])).content.decode()
        assert "Eastern Time (Toronto)" in html, name
        assert "a.m.." not in html and "p.m.." not in html and "noon." not in html, name


def test_decline_email_links_to_booking_online(booking, deliver):
    deliver()
    mail.outbox.clear()
    workflow.change_status(booking, BookingStatus.DECLINED, by=workflow.PATIENT, note="No times that week")
    (email,) = [m for m in deliver() if "can't offer" in m.body]
    assert f"/book/?service={booking.service.slug}" in email.body


def test_home_page_shows_the_opening_hours_once(client):
    from clinic.models import OpeningHours

    make_clinic()
    OpeningHours.objects.update_or_create(weekday=0, defaults={"opens": "09:00", "closes": "17:00"})
    html = client.get("/").content.decode()
    assert html.count('<table class="hours">') == 1
