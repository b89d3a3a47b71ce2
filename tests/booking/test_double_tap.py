"""A double tap behind a load balancer: the same booking form sent twice at the same moment, each copy to its own
server instance (its own database connection, one shared cache). One booking, one set of emails, and both
answers lead to the saved booking's page — never "This form has already been sent" for a booking that was made.
"""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from booking.models import Booking, BookingEvent, OutboxEmail
from booking.notifications import emails
from booking.tokens import read_token
from tests.booking.test_exactly_once import at_once
from tests.factories import form_data, free_starts, make_clinic, make_practitioner, make_service

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def clinic():
    _, location = make_clinic()
    pat = make_practitioner("Pat Lee", location=location)
    sam = make_practitioner("Sam Roe", location=location)
    service = make_service([pat, sam])
    start = [s for s in free_starts(service, location=location) if s - timezone.now() > timedelta(days=2)][0]
    return {"location": location, "pat": pat, "service": service, "start": start}


@pytest.fixture
def slow_commit(monkeypatch):
    """The winner holds its transaction open a moment after its insert, so the loser arrives while it is
    still uncommitted (the moment the old code answered "already sent")."""
    queue_together = emails.queue_together

    def slow(*rows):
        result = queue_together(*rows)
        time.sleep(0.4)
        return result

    monkeypatch.setattr(emails, "queue_together", slow)


def send(data, ip):
    def call():
        return Client().post("/book/", data, REMOTE_ADDR=ip)

    return call


@pytest.mark.parametrize("named", [True, False], ids=["named practitioner", "any practitioner"])
@pytest.mark.parametrize("attempt", [1, 2])
def test_the_same_form_sent_twice_at_once_saves_once_and_both_answers_show_it(clinic, slow_commit, named, attempt):
    data = form_data(clinic["service"], clinic["start"], clinic["location"])
    if named:
        data["practitioner"] = str(clinic["pat"].pk)
    first, second = at_once(send(data, "198.51.100.7"), send(data, "198.51.100.7"))
    booking = Booking.objects.get()
    for answer in (first, second):
        assert answer.status_code == 302
        assert read_token(answer["Location"].split("/")[-2]) == booking.reference
    assert BookingEvent.objects.filter(booking=booking).count() == 1
    assert sorted(OutboxEmail.objects.values_list("kind", flat=True)) == ["acknowledgement", "new_request"]
    shown = Client().get(second["Location"])
    assert shown.status_code == 200 and booking.reference in shown.content.decode()
