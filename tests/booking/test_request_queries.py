"""A patient's booking request costs a fixed handful of queries, however many bookings the clinic has."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking.models import Booking, BookingPolicy, BookingStatus, OutboxEmail
from tests.factories import form_data, free_starts, local, make_booking, make_clinic, make_practitioner, make_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]

# The form (double-submit lookup, service, location), the per-email cap (count, and the address lock on
# PostgreSQL), the slot check (hours with closures, then bookings with time off), the booking (in a
# savepoint: 3), its history and its two emails (one INSERT each); +2 for the request's own transaction,
# a savepoint inside the test's.
EXPECTED = {"sqlite": 15, "postgresql": 16}  # incl. finding or creating the patient record


def posted_queries(client, service, location, email):
    start = free_starts(service, location=location)[0]
    data = form_data(service, start, location, email=email)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(reverse("booking:request"), data, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("instant", [False, True])
def test_a_booking_request_costs_the_same_with_many_bookings(client, instant):
    if instant:
        BookingPolicy.objects.create(confirm_instantly=True)
    _, location = make_clinic()
    people = [make_practitioner(f"Person {i}", slug=f"person-{i}", location=location) for i in range(4)]
    service = make_service(people)
    posted_queries(client, service, location, "warm@example.com")  # the clinic's facts into the cache
    few = posted_queries(client, service, location, "first@example.com")
    for day in range(2, 30):
        for person in people:
            for hour in (9, 11, 14):
                make_booking(person, service, local(day, hour), location=location, status=BookingStatus.CONFIRMED)
    many = posted_queries(client, service, location, "second@example.com")
    assert len(few) == len(many)
    if not instant:  # instant confirmation also plans the reminder
        assert len(many) == EXPECTED[connection.vendor], "\n".join(q[:100] for q in many)
    assert OutboxEmail.objects.filter(booking__email="second@example.com").exclude(kind="reminder").count() == 2
    assert Booking.objects.filter(email="second@example.com").count() == 1
