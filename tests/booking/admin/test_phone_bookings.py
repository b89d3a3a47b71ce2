"""Bookings taken by phone on the admin's add page: prefilled from links, the online rules without the minimum
notice, confirmed at once, emailed unless unticked, saved once however often the form is sent."""

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from booking.forms import encode_slot
from booking.models import Booking, BookingEvent, BookingStatus, OutboxEmail, Patient
from tests.factories import PatientFactory, local, make_staff

pytestmark = pytest.mark.django_db
ADD = reverse("admin:booking_booking_add")
TORONTO = ZoneInfo("America/Toronto")
MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=TORONTO)


@pytest.fixture
def frozen():
    with time_machine.travel(MONDAY_9, tick=False):
        yield


def post_data(clinic, start, **extra):
    data = {
        "request_key": uuid.uuid4().hex,
        "service": clinic.service.pk,
        "visit_type": "in_clinic",
        "location": clinic.location.pk,
        "practitioner": clinic.pat.pk,
        "slot": encode_slot(start),
        "name": "Casey Caller",
        "phone": "416 555 0150",
        "email": "casey@example.com",
        "contact_preference": "call",
        "email_patient": "on",
    }
    data.update(extra)
    return data


def messages_of(response):
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_prefilled_from_the_calendar_link(frozen, desk, desk_clinic):
    start = local(0, 10, 15)
    response = desk.get(ADD, {"practitioner": desk_clinic.pat.pk, "start": start.isoformat()})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["practitioner"] == desk_clinic.pat.pk and form.initial["slot"] == encode_slot(start)
    # The clicked time is among the times offered, and chosen.
    assert f'value="{encode_slot(start)}" checked' in response.content.decode()


def test_prefilled_from_the_patient_page(frozen, desk, desk_clinic):
    alex = PatientFactory(name="Alex Rivera")
    response = desk.get(ADD, {"patient": alex.pk})
    assert response.status_code == 200 and response.context["chosen_patient"] == alex
    assert "Alex Rivera" in response.content.decode()


@pytest.mark.parametrize(
    "params,field",
    [
        ({"start": "not-a-date"}, "slot"),
        ({"start": "2026-12-07T10:15:00"}, "slot"),  # no offset: ambiguous
        ({"start": "99999-01-01T00:00:00+00:00"}, "slot"),
        ({"practitioner": "abc"}, "practitioner"),
        ({"practitioner": "999999"}, "practitioner"),
        ({"patient": "x' OR 1=1"}, "patient"),
        ({"patient": "424242"}, "patient"),
    ],
)
def test_bad_links_say_what_is_wrong_and_never_fail(frozen, desk, desk_clinic, params, field):
    response = desk.get(ADD, params)
    assert response.status_code == 200
    assert field in response.context["problems"]


def test_phone_booking_inside_the_online_notice_is_confirmed_recorded_and_emailed(frozen, desk, desk_clinic, deliver):
    start = local(0, 11)  # two hours from now: inside the online minimum notice
    response = desk.post(ADD, post_data(desk_clinic, start))
    booking = Booking.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{booking.pk}/change/")
    assert booking.status == BookingStatus.CONFIRMED and booking.start == start
    assert booking.patient.name == "Casey Caller" and booking.patient.phone == "+14165550150"
    event = BookingEvent.objects.get(booking=booking)
    assert event.user == desk_clinic.desk and event.note == "Booked by desk by phone"
    assert event.to_status == BookingStatus.CONFIRMED
    sent = [m for m in deliver() if "casey@example.com" in m.to]
    assert len(sent) == 1 and "confirmed" in sent[0].subject
    assert "emailed" in messages_of(response)


def test_unticked_or_no_email_on_file_sends_nothing(frozen, desk, desk_clinic):
    desk.post(ADD, post_data(desk_clinic, local(1, 9), email_patient=""))
    desk.post(ADD, post_data(desk_clinic, local(1, 11), email="", name="No Mail", phone="416 555 0151"))
    assert Booking.objects.count() == 2
    assert not OutboxEmail.objects.filter(kind="confirmation").exists()


def test_existing_patient_is_booked_without_retyping(frozen, desk, desk_clinic):
    alex = PatientFactory(name="Alex Rivera", email="alex@example.com")
    desk_clinic.booking(local(-30, 9), patient=alex, status=BookingStatus.CONFIRMED)
    data = post_data(desk_clinic, local(1, 9), patient=alex.pk, name="", phone="", email="")
    response = desk.post(ADD, data)
    assert response.status_code == 302
    booking = Booking.objects.order_by("-pk").first()
    assert booking.patient == alex and booking.patient_type == "returning" and Patient.objects.count() == 1


def test_over_an_existing_visit_is_refused_and_nothing_saved(frozen, desk, desk_clinic):
    taken = desk_clinic.booking(local(1, 9), status=BookingStatus.CONFIRMED)
    patients_before = Patient.objects.count()
    response = desk.post(ADD, post_data(desk_clinic, local(1, 9, 30)))
    assert response.status_code == 200
    assert "not free" in str(response.context["form"].errors["slot"])
    assert list(Booking.objects.all()) == [taken] and Patient.objects.count() == patients_before


def test_outside_working_hours_is_refused(frozen, desk, desk_clinic):
    response = desk.post(ADD, post_data(desk_clinic, local(1, 22)))
    assert response.status_code == 200 and "slot" in response.context["form"].errors
    assert not Booking.objects.exists()


def test_the_same_form_twice_saves_once_and_says_so(frozen, desk, desk_clinic):
    data = post_data(desk_clinic, local(1, 9))
    first = desk.post(ADD, data)
    second = desk.post(ADD, data)
    booking = Booking.objects.get()
    assert first["Location"] == second["Location"]
    assert "already sent" in messages_of(second) and booking.reference in messages_of(second)
    assert OutboxEmail.objects.filter(kind="confirmation").count() == 1


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"name": "", "phone": "", "email": ""}, "name"),
        ({"phone": "12", "email": ""}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"slot": "garbage"}, "slot"),
        ({"service": "999999"}, "service"),
        ({"practitioner": "abc"}, "practitioner"),
        ({"patient": "999999"}, "patient"),
        ({"request_key": "<script>"}, "request_key"),
    ],
)
def test_bad_input_is_explained_next_to_the_field(frozen, desk, desk_clinic, changes, field):
    response = desk.post(ADD, post_data(desk_clinic, local(1, 9), **changes))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Booking.objects.exists() and not Patient.objects.filter(name="Casey Caller").exists()


def test_only_the_front_desk_may_add(frozen, client, desk_clinic):
    for user in (make_staff("pat", "Practitioner"), make_staff("ed", "Editor")):
        client.force_login(user)
        assert client.get(ADD).status_code == 403
        assert client.post(ADD, post_data(desk_clinic, local(1, 9))).status_code == 403
    assert not Booking.objects.exists()


def test_show_free_times_keeps_what_was_typed(frozen, desk, desk_clinic):
    data = post_data(desk_clinic, local(1, 9), action="refresh", email_patient="")
    response = desk.post(ADD, data)
    assert response.status_code == 200 and not Booking.objects.exists()
    assert response.context["picker"].ready and response.context["picker"].days
    assert response.context["form"].initial["name"] == "Casey Caller"
