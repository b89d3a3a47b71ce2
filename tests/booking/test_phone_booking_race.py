"""A phone booking and an online request for the same time, at once, on real concurrent PostgreSQL connections:
exactly one booking holds the time, whichever wins (the exclusion constraint has the last word)."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.forms import encode_slot
from booking.models import Booking, OutboxEmail, Patient
from tests.booking.test_exactly_once import at_once
from tests.factories import form_data, free_starts, make_clinic, make_practitioner, make_service, make_staff

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"),
    pytest.mark.django_db(transaction=True),
]


def test_phone_booking_and_online_request_for_one_time_make_one_booking(settings):
    settings.BOOKING_MIN_SECONDS_TO_SUBMIT = 0
    _, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    # A superuser: groups made by migrations are flushed by earlier transactional tests.
    desk = make_staff("desk", superuser=True)
    starts = [s for s in free_starts(service, location=location) if s - timezone.now() > timedelta(days=2)]
    rounds = 5
    for start in starts[:rounds]:
        staff_client = Client()
        staff_client.force_login(desk)  # signed in before the race: both requests start level

        def by_phone(start=start, client=staff_client):
            return client.post(
                reverse("admin:booking_booking_add"),
                {
                    "request_key": uuid.uuid4().hex,
                    "service": service.pk,
                    "visit_type": "in_clinic",
                    "location": location.pk,
                    "practitioner": pat.pk,
                    "slot": encode_slot(start),
                    "name": "Casey Caller",
                    "phone": "416 555 0150",
                    "email": "casey@example.com",
                    "contact_preference": "call",
                    "email_patient": "on",
                },
            )

        def online(start=start):
            data = form_data(service, start, location, email=f"online-{start:%H%M%d}@example.com")
            return Client().post(reverse("booking:request"), data)

        phone_answer, online_answer = at_once(by_phone, online)
        assert not isinstance(phone_answer, Exception), phone_answer
        assert not isinstance(online_answer, Exception), online_answer
        assert phone_answer.status_code in (200, 302) and online_answer.status_code in (200, 302)
        # Exactly one of the two saved, and the other was told the time is taken (a form shown again, not a 500).
        assert Booking.objects.filter(start=start).count() == 1
        assert sorted([phone_answer.status_code, online_answer.status_code]) == [200, 302]
    assert Booking.objects.count() == rounds
    # Every saved booking has its patient, and a lost phone booking left no patient record behind.
    phone_won = Booking.objects.filter(patient__name="Casey Caller").count()
    assert Patient.objects.filter(name="Casey Caller").count() == phone_won
    assert OutboxEmail.objects.filter(kind="confirmation", recipient="casey@example.com").count() == phone_won
    print(f"rounds={rounds} bookings={Booking.objects.count()} phone won={phone_won} online won={rounds - phone_won}")
