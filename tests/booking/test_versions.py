"""Every change is made once, from the state the person saw: stale or repeated forms change nothing and
say what the booking is now; a move to the current time changes nothing and sends nothing."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from booking import workflow
from booking.forms import encode_slot
from booking.models import BookingEvent, BookingStatus, OutboxEmail
from tests.factories import FrontDeskClinic

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

TZ = ZoneInfo("America/Toronto")


def at(day, hour):
    return datetime(2026, 12, day, hour, tzinfo=TZ)


@pytest.fixture
def clinic():
    with time_machine.travel(datetime(2026, 12, 7, 10, tzinfo=TZ), tick=False):
        yield FrontDeskClinic()


def msgs(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def move(client, booking, start, version):
    url = reverse("booking:move", args=[booking.manage_token()])
    return client.post(url, {"slot": encode_slot(start), "action": "move", "version": version}, follow=True)


def test_a_stale_patient_move_after_staff_confirmed_changes_nothing_and_says_why(client, clinic):
    booking = clinic.booking(at(11, 9))
    workflow.change_status(booking, BookingStatus.CONFIRMED, by=clinic.desk, version=1)
    emails_before = OutboxEmail.objects.count()
    response = move(client, booking, at(11, 11), version=1)  # the move page was opened before the confirm
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED and booking.start == at(11, 9)
    assert OutboxEmail.objects.count() == emails_before and not BookingEvent.objects.filter(note__startswith="Moved")
    assert (
        "This booking changed since you opened this page: it is now confirmed for Friday 11 December, 9 a.m."
        in msgs(response)
    )


def test_the_same_move_form_twice_moves_once(client, clinic):
    booking = clinic.booking(at(11, 9))
    move(client, booking, at(11, 11), version=1)
    move(client, booking, at(11, 11), version=1)
    booking.refresh_from_db()
    assert booking.start == at(11, 11) and booking.version == 2
    assert BookingEvent.objects.filter(booking=booking, note__startswith="Moved").count() == 1
    assert OutboxEmail.objects.filter(kind="moved").count() == 1


def test_a_move_to_the_current_time_changes_nothing_and_sends_nothing(client, clinic):
    booking = clinic.booking(at(11, 9))
    with pytest.raises(workflow.Unchanged):
        workflow.reschedule(booking, at(11, 9), by=clinic.desk, version=1)
    assert not BookingEvent.objects.exists() and not OutboxEmail.objects.exists()


def test_staff_button_from_a_stale_page_changes_nothing(client, clinic):
    booking = clinic.booking(at(11, 9))
    client.force_login(clinic.desk)
    workflow.change_status(booking, BookingStatus.CANCELLED, by=workflow.PATIENT, version=1)
    url = reverse("admin:booking_booking_transition", args=[booking.pk, "confirm"])
    response = client.post(url, {"version": 1}, follow=True)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert any("it is now cancelled for Friday 11 December" in m for m in msgs(response))


def test_bulk_action_skips_a_row_that_changed_since_the_list_was_shown(client, clinic):
    fresh = clinic.booking(at(11, 9))
    changed = clinic.booking(at(11, 9), practitioner=clinic.sam)
    client.force_login(clinic.desk)
    shown = {f"shown_version_{b.pk}": 1 for b in (fresh, changed)}
    workflow.reschedule(changed, at(11, 11), by=clinic.desk, version=1)  # a colleague moved it meanwhile
    data = {"action": "cancel_selected", "_selected_action": [fresh.pk, changed.pk], "index": 0, **shown}
    response = client.post(reverse("admin:booking_booking_changelist"), data, follow=True)
    fresh.refresh_from_db()
    changed.refresh_from_db()
    assert fresh.status == BookingStatus.CANCELLED
    assert changed.status == BookingStatus.REQUESTED and changed.start == at(11, 11)
    assert any(m.startswith(f"{changed.reference}: This booking changed") for m in msgs(response))
    html = client.get(reverse("admin:booking_booking_changelist")).content.decode()
    assert f'name="shown_version_{changed.pk}" value="2"' in html  # every row carries the version it shows
