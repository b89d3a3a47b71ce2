"""A course of treatment against real concurrent connections (PostgreSQL): a 6-visit course whose week 4 is
taken by another request, either between the preview and the save or in the middle of the save itself, saves
nothing and shows week 4 in conflict; the other request's booking stands."""

import threading
from datetime import datetime

import pytest
import time_machine
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking import workflow
from booking.courses import workflow as course_workflow
from booking.courses.preview import Reason
from booking.models import Booking, BookingStatus, Course, OutboxEmail
from tests.factories import (
    FRONT_DESK_HOURS,
    form_data,
    make_booking,
    make_clinic,
    make_practitioner,
    make_service,
    make_staff,
    patient,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

TORONTO = timezone.get_default_timezone()
NOW = datetime(2026, 10, 19, 9, 0, tzinfo=TORONTO)
FIRST = datetime(2026, 10, 26, 10, 0, tzinfo=TORONTO)
WEEK_4 = datetime(2026, 11, 16, 10, 0, tzinfo=TORONTO)  # after clocks go back on 1 November


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


class Clinic:
    """Pat working every day 8:00-16:00, one service, and a front-desk account. (A transactional test starts
    from an empty database, without the staff groups the migrations make, so the account is a superuser.)"""

    def __init__(self):
        _profile, self.location = make_clinic()
        self.pat = make_practitioner("Pat Lee", location=self.location, hours=FRONT_DESK_HOURS)
        self.service = make_service([self.pat])
        self.desk = make_staff("desk", superuser=True)

    def booking(self, start, **fields):
        return make_booking(self.pat, self.service, start, location=self.location, **fields)


@pytest.fixture
def clinic():
    return Clinic()


def _course_form(booking, action):
    return {"action": action, "every_weeks": 1, "visits": 6, "version": booking.version}


def _keep_all(rows):
    return {row["field"]: row["default"] for row in rows if row["choices"]}


def _in_another_connection(work):
    """Run `work` in its own thread and database connection, to the end (commit), and return its result."""
    result = {}

    def run():
        try:
            result["value"] = work()
        except Exception as exc:  # noqa: BLE001  (reported to the test below)
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the other request hung"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _counts():
    return {
        "bookings": Booking.objects.count(),
        "active at week 4": Booking.objects.active().filter(start=WEEK_4).count(),
        "courses": Course.objects.count(),
        "emails": OutboxEmail.objects.exclude(kind="reminder").count(),
        "course emails": OutboxEmail.objects.filter(kind__startswith="course").count(),
    }


def test_week_4_taken_by_an_online_request_between_preview_and_save(clinic, capsys):
    first = clinic.booking(FIRST, status=BookingStatus.CONFIRMED)
    desk = Client()
    desk.force_login(clinic.desk)
    url = reverse("admin:booking_booking_course", args=[first.pk])
    rows = desk.post(url, _course_form(first, "preview")).context["rows"]
    assert [row["default"] for row in rows[1:]] == ["keep"] * 5

    # A patient books Pat for week 4 on the website, on another connection, while the front desk reads.
    def online_request():
        data = form_data(clinic.service, WEEK_4, clinic.location, email="other@example.com")
        data["practitioner"] = str(clinic.pat.pk)
        return Client().post("/book/", data, REMOTE_ADDR="198.51.100.7").status_code

    assert _in_another_connection(online_request) == 302

    response = desk.post(url, {**_course_form(first, "save"), **_keep_all(rows)})

    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    week_4 = response.context["preview"].visits[3]
    assert (week_4.free, week_4.reason) == (False, Reason.BOOKED)
    counts = _counts()
    # The first visit and the patient's request; the request's own two emails; nothing of the course.
    assert counts == {"bookings": 2, "active at week 4": 1, "courses": 0, "emails": 2, "course emails": 0}
    with capsys.disabled():
        print(f"\ncourse vs online request between preview and save: {counts}")


def test_week_4_taken_while_the_course_is_being_saved_is_refused_by_the_constraint(clinic, monkeypatch, capsys):
    """The other booking commits after the course's own check of week 4 and before its insert: only the
    database's exclusion constraint can catch that, and the whole course is rolled back."""
    first = clinic.booking(FIRST, status=BookingStatus.CONFIRMED)
    desk = Client()
    desk.force_login(clinic.desk)
    url = reverse("admin:booking_booking_course", args=[first.pk])
    rows = desk.post(url, _course_form(first, "preview")).context["rows"]
    checked = course_workflow.free_at

    def check_then_lose_the_race(service, visit_type, location, practitioner, start, **kwargs):
        free = checked(service, visit_type, location, practitioner, start, **kwargs)
        if start == WEEK_4:
            assert practitioner.pk in free  # still free when the course checked it
            _in_another_connection(
                lambda: workflow.request_booking(
                    service=service,
                    visit_type=visit_type,
                    location=location,
                    practitioner=practitioner,
                    start=WEEK_4,
                    patient=patient(email="other@example.com"),
                )
            )
        return free

    monkeypatch.setattr(course_workflow, "free_at", check_then_lose_the_race)
    response = desk.post(url, {**_course_form(first, "save"), **_keep_all(rows)})

    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    assert response.context["preview"].visits[3].reason == Reason.BOOKED
    counts = _counts()
    assert counts == {"bookings": 2, "active at week 4": 1, "courses": 0, "emails": 2, "course emails": 0}
    assert Booking.objects.get(pk=first.pk).course_id is None
    with capsys.disabled():
        print(f"\ncourse vs a booking committed mid-save: {counts}")
