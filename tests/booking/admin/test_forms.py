"""Admin forms for services, working hours (inline on the practitioner), time off and closures
refuse bad input with a clear message."""

import pytest
from django.urls import reverse

from booking.models import Closure, Service, TimeOff, WorkingHours
from tests.factories import FRONT_DESK_HOURS, make_clinic, make_practitioner, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):
    client.force_login(make_staff("boss", superuser=True))
    return client


def errors(response):
    assert response.status_code == 200, "the form should have been refused"
    return response.content.decode()


def inline_data(practitioner, rows, existing=()):
    data = {
        "name": practitioner.name,
        "slug": practitioner.slug,
        "title": practitioner.title,
        "order": 0,
        "is_active": "on",
        "working_hours-TOTAL_FORMS": len(existing) + len(rows),
        "working_hours-INITIAL_FORMS": len(existing),
        "time_off-TOTAL_FORMS": 0,
        "time_off-INITIAL_FORMS": 0,
    }
    for i, hours in enumerate(existing):
        data.update(
            {
                f"working_hours-{i}-id": hours.pk,
                f"working_hours-{i}-practitioner": practitioner.pk,
                f"working_hours-{i}-weekday": hours.weekday,
                f"working_hours-{i}-start": hours.start.strftime("%H:%M"),
                f"working_hours-{i}-end": hours.end.strftime("%H:%M"),
            }
        )
    for j, (weekday, start, end) in enumerate(rows, start=len(existing)):
        data.update(
            {
                f"working_hours-{j}-practitioner": practitioner.pk,
                f"working_hours-{j}-weekday": weekday,
                f"working_hours-{j}-start": start,
                f"working_hours-{j}-end": end,
            }
        )
    return data


def test_practitioner_page_has_hours_and_time_off_inline(admin_client_):
    practitioner = make_practitioner("Pat Lee", hours=FRONT_DESK_HOURS)
    page = admin_client_.get(reverse("admin:clinic_practitioner_change", args=[practitioner.pk])).content.decode()
    assert "working_hours-TOTAL_FORMS" in page and "time_off-TOTAL_FORMS" in page


def test_inline_hours_end_after_start(admin_client_):
    practitioner = make_practitioner("Pat Lee", hours=FRONT_DESK_HOURS)
    WorkingHours.objects.filter(practitioner=practitioner).delete()
    url = reverse("admin:clinic_practitioner_change", args=[practitioner.pk])
    page = errors(admin_client_.post(url, inline_data(practitioner, [(0, "12:00", "09:00")])))
    assert "The end time must be after the start time." in page
    assert not WorkingHours.objects.filter(practitioner=practitioner).exists()


def test_inline_hours_overlap_within_the_form(admin_client_):
    practitioner = make_practitioner("Pat Lee", hours=FRONT_DESK_HOURS)
    WorkingHours.objects.filter(practitioner=practitioner).delete()
    url = reverse("admin:clinic_practitioner_change", args=[practitioner.pk])
    page = errors(admin_client_.post(url, inline_data(practitioner, [(0, "09:00", "12:00"), (0, "11:00", "14:00")])))
    assert "overlap on Monday" in page
    response = admin_client_.post(url, inline_data(practitioner, [(0, "09:00", "12:00"), (0, "12:00", "14:00")]))
    assert response.status_code == 302
    assert WorkingHours.objects.filter(practitioner=practitioner).count() == 2


def test_inline_hours_overlap_with_saved_hours(admin_client_):
    practitioner = make_practitioner("Pat Lee", hours=FRONT_DESK_HOURS)  # works 16:00–20:00 by video every day
    url = reverse("admin:clinic_practitioner_change", args=[practitioner.pk])
    existing = list(WorkingHours.objects.filter(practitioner=practitioner))
    page = errors(admin_client_.post(url, inline_data(practitioner, [(2, "15:00", "17:00")], existing)))
    assert "These hours overlap" in page


def test_working_hours_admin_refuses_overlap(admin_client_):
    practitioner = make_practitioner("Pat Lee", hours=FRONT_DESK_HOURS)
    page = errors(
        admin_client_.post(
            reverse("admin:booking_workinghours_add"),
            {"practitioner": practitioner.pk, "weekday": 1, "start": "17:00", "end": "21:00"},
        )
    )
    assert "These hours overlap" in page


def test_time_off_end_after_start(admin_client_):
    practitioner = make_practitioner("Pat Lee", hours=FRONT_DESK_HOURS)
    page = errors(
        admin_client_.post(
            reverse("admin:booking_timeoff_add"),
            {
                "practitioner": practitioner.pk,
                "start_0": "2030-01-10",
                "start_1": "12:00",
                "end_0": "2030-01-10",
                "end_1": "09:00",
            },
        )
    )
    assert "The end must be after the start." in page
    assert not TimeOff.objects.exists()


def test_closure_date_is_unique(admin_client_):
    Closure.objects.create(date="2030-07-01", reason="Canada Day")
    page = errors(admin_client_.post(reverse("admin:booking_closure_add"), {"date": "2030-07-01", "reason": "Again"}))
    assert "already exists" in page


def test_service_must_be_offered_somewhere(admin_client_):
    make_clinic()
    page = errors(
        admin_client_.post(
            reverse("admin:booking_service_add"),
            {"name": "Nowhere", "slug": "nowhere", "duration_minutes": 60, "buffer_minutes": 0, "order": 0},
        )
    )
    assert "Offer the service in the clinic, by telehealth, or both." in page
    page = errors(
        admin_client_.post(
            reverse("admin:booking_service_add"),
            {
                "name": "Long",
                "slug": "long",
                "duration_minutes": 900,
                "buffer_minutes": 0,
                "order": 0,
                "in_clinic": "on",
            },
        )
    )
    assert "Give a length between 5 and 480 minutes." in page
    assert not Service.objects.exists()
