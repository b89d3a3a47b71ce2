"""A transaction that lost a race (deadlock, serialization failure) is retried or answered "That time was
just taken" — never the outage page — and the log names the real error."""

import logging
from unittest import mock

import pytest
from django.db import OperationalError

from booking import workflow
from tests.factories import form_data, free_starts, make_clinic, make_practitioner, make_service, patient

pytestmark = pytest.mark.django_db


class DeadlockDetected(Exception):
    pgcode = "40P01"


def lost_race():
    error = OperationalError("deadlock detected")
    error.__cause__ = DeadlockDetected("deadlock detected")
    return error


@pytest.fixture
def clinic():
    _, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    return {"service": service, "location": location, "start": free_starts(service, location=location)[0]}


@pytest.mark.django_db(transaction=True)  # real transactions: a retry is possible only outside an outer one
def test_a_lost_race_is_retried_then_saved(client, clinic, caplog, monkeypatch):
    real = workflow._hold_slot
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise lost_race()
        return real(*args, **kwargs)

    monkeypatch.setattr(workflow, "_hold_slot", flaky)
    with caplog.at_level(logging.WARNING):
        booking = workflow.request_booking(
            service=clinic["service"],
            visit_type="in_clinic",
            location=clinic["location"],
            practitioner=None,
            start=clinic["start"],
            patient=patient(),
        )
    assert booking.pk and len(calls) == 2
    assert "SQLSTATE 40P01" in caplog.text and "DeadlockDetected" in caplog.text


def test_a_race_lost_every_time_is_answered_just_taken_not_503(client, clinic, caplog):
    data = form_data(clinic["service"], clinic["start"], clinic["location"])
    with mock.patch.object(workflow, "_hold_slot", side_effect=lost_race()), caplog.at_level(logging.WARNING):
        response = client.post("/book/", data, REMOTE_ADDR="203.0.113.7")
    html = response.content.decode()
    assert response.status_code in (200, 409)
    assert "Back in a few minutes" not in html
    assert "That time was just taken" in html or "changed at the same moment" in html
    assert "SQLSTATE 40P01" in caplog.text
