"""Saving a booking checks only the chosen start (booking.scheduling.slotcheck): it must accept exactly the starts the
picker offers, and refuse everything else the rules forbid, on SQLite and on PostgreSQL alike."""

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from booking.forms import encode_slot
from booking.models import Booking, BookingStatus, Closure, TimeOff, VisitType, WorkingHours
from booking.scheduling.availability import slots_for
from booking.scheduling.slotcheck import free_at
from tests.factories import (
    LocationFactory,
    form_data,
    free_starts,
    local,
    make_booking,
    make_clinic,
    make_practitioner,
    make_service,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


@pytest.fixture
def clinic():
    _, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    return {"location": location, "pat": pat, "service": service}


def post(client, service, start, location):
    return client.post(reverse("booking:request"), form_data(service, start, location), REMOTE_ADDR="203.0.113.9")


def refused(response, because="That time was just taken"):
    """The page is shown again with the reason next to the time (a taken time, or the rule that forbids it)."""
    return response.status_code == 200 and because in response.content.decode()


def test_a_free_start_is_saved(client, clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    assert post(client, clinic["service"], start, clinic["location"]).status_code == 302
    assert Booking.objects.get().start == start


def test_a_start_inside_time_off_is_refused(client, clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    # Time off that only touches the end of the visit still overlaps it.
    TimeOff.objects.create(
        practitioner=clinic["pat"], start=start + timedelta(minutes=59), end=start + timedelta(hours=2)
    )
    assert refused(post(client, clinic["service"], start, clinic["location"]))
    assert not Booking.objects.exists()


def test_a_start_on_a_closure_day_is_refused(client, clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    Closure.objects.create(date=timezone.localtime(start).date(), reason="Holiday")
    assert refused(post(client, clinic["service"], start, clinic["location"]), "The clinic is closed on")
    assert not Booking.objects.exists()


def test_a_start_outside_working_hours_is_refused(client, clinic):
    # 8:00 (before opening) and 16:30 (the hour would run past 17:00 closing), two days ahead.
    for start in (local(2, 8), local(2, 16, 30)):
        assert refused(post(client, clinic["service"], start, clinic["location"]), "outside our opening hours")
    assert not Booking.objects.exists()


def test_a_start_inside_the_minimum_notice_or_past_the_horizon_is_refused(client, clinic, settings):
    settings.BOOKING_MIN_NOTICE_HOURS = 48
    too_soon = local(1, 10)
    too_far = local(settings.BOOKING_HORIZON_DAYS + 2, 10)
    assert refused(post(client, clinic["service"], too_soon, clinic["location"]), "at least 48 hours&#x27; notice")
    assert refused(post(client, clinic["service"], too_far, clinic["location"]), "up to 60 days ahead")
    assert not Booking.objects.exists()


def test_a_start_overlapping_a_booking_or_its_buffer_is_refused(client, clinic):
    service = make_service([clinic["pat"]], slug="physio-buffered", buffer=15)
    start = free_starts(service, location=clinic["location"])[0]
    make_booking(
        clinic["pat"], service, start, location=clinic["location"], blocked_until=start + timedelta(minutes=75)
    )
    # The hour after the booking is still inside its 15-minute buffer.
    for candidate in (start, start + timedelta(hours=1)):
        assert refused(post(client, service, candidate, clinic["location"]))
    assert Booking.objects.count() == 1


def test_a_start_the_picker_does_not_offer_is_refused(client, clinic):
    # Starts follow the picker's grid (back to back from the opening or the end of a booking): 9:15 is not one.
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    assert refused(post(client, clinic["service"], start + timedelta(minutes=15), clinic["location"]))
    assert not Booking.objects.exists()


def test_any_practitioner_gets_the_one_who_is_free(client, clinic):
    sam = make_practitioner("Sam Roe", location=clinic["location"])
    clinic["service"].practitioners.add(sam)
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    low, high = sorted([clinic["pat"], sam], key=lambda p: p.pk)
    TimeOff.objects.create(practitioner=low, start=start, end=start + timedelta(hours=1))
    assert post(client, clinic["service"], start, clinic["location"]).status_code == 302
    assert Booking.objects.get().practitioner == high


def test_the_check_costs_the_same_with_many_bookings(clinic):
    service, location, pat = clinic["service"], clinic["location"], clinic["pat"]
    start = free_starts(service, location=location)[0]

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert free_at(service, VisitType.IN_CLINIC, location, None, start) == [pat.pk]
        return len(captured)

    few = queries()
    for day in range(2, 12):
        make_booking(pat, service, local(day, 9), location=location, status=BookingStatus.CONFIRMED)
    assert queries() == few == 2


def _messy_clinic():
    """Split shifts, hours at two locations that touch, buffers, odd booking times, time off, a closure."""
    _, main = make_clinic()
    east = LocationFactory(name="East", slug="east")
    pat = make_practitioner("Pat Lee", location=main)
    sam = make_practitioner("Sam Roe", location=None)
    kim = make_practitioner("Kim Poe", location=main, telehealth=False)
    for weekday in range(7):
        WorkingHours.objects.create(practitioner=sam, weekday=weekday, start=time(8, 10), end=time(12), location=main)
        WorkingHours.objects.create(practitioner=sam, weekday=weekday, start=time(12), end=time(15), location=east)
        WorkingHours.objects.create(practitioner=sam, weekday=weekday, start=time(16), end=time(17, 40), location=east)
    service = make_service([pat, sam, kim], slug="mixed-45", minutes=45, buffer=10, telehealth=True)
    make_booking(pat, service, local(3, 10, 5), location=main, blocked_until=local(3, 11))
    make_booking(sam, service, local(3, 11, 50), location=main, blocked_until=local(3, 12, 45))
    make_booking(kim, service, local(4, 9), location=main, status=BookingStatus.CANCELLED)
    make_booking(pat, service, local(4, 18, 20), visit_type=VisitType.TELEHEALTH, blocked_until=local(4, 19, 15))
    TimeOff.objects.create(practitioner=kim, start=local(3, 13, 7), end=local(3, 14, 2))
    TimeOff.objects.create(practitioner=sam, start=local(4, 15, 30), end=local(5, 9))
    Closure.objects.create(date=local(5, 0).date())
    return service, main, east, [pat, sam, kim]


def test_the_check_accepts_exactly_what_the_picker_offers():
    service, main, east, people = _messy_clinic()
    now = timezone.now()
    choices = [
        (VisitType.IN_CLINIC, None, None),
        (VisitType.IN_CLINIC, main, None),
        (VisitType.IN_CLINIC, east, people[1]),
        (VisitType.IN_CLINIC, main, people[2]),
        (VisitType.TELEHEALTH, None, None),
    ]
    for visit_type, location, practitioner in choices:
        for offset in (3, 4, 5):
            day = local(offset, 0).date()
            offered = slots_for(service, visit_type, location, practitioner, day=day, now=now, use_cache=False)
            # Every offered start, its neighbours off the grid, and every quarter hour of the day.
            candidates = {t + timedelta(minutes=m) for t in offered for m in (-10, -5, 0, 5, 10, 45, 55)}
            candidates |= {local(offset, 0) + timedelta(minutes=15 * i) for i in range(96)}
            for t in sorted(candidates):
                expected = offered.get(t, [])
                assert free_at(service, visit_type, location, practitioner, t, now=now) == expected, (
                    visit_type,
                    location,
                    practitioner,
                    timezone.localtime(t),
                )
            assert offered or offset == 5  # the closure day offers nothing; the others do


def test_busy_during_is_half_open_like_the_no_overlap_rule(clinic):
    service, pat, location = clinic["service"], clinic["pat"], clinic["location"]
    before = make_booking(pat, service, local(3, 9), location=location)  # 9:00–10:00
    inside = make_booking(pat, service, local(3, 11), location=location)  # 11:00–12:00
    after = make_booking(pat, service, local(3, 13), location=location)  # 13:00–14:00
    make_booking(pat, service, local(3, 10), location=location, status=BookingStatus.CANCELLED)

    def busy(start, until):
        return set(Booking.objects.busy_during([pat.pk], start, until))

    assert busy(local(3, 10), local(3, 13)) == {inside}  # touching at 10:00 and 13:00 is no overlap
    assert busy(local(3, 9, 59), local(3, 13, 1)) == {before, inside, after}
    assert busy(local(3, 11, 30), local(3, 11, 45)) == {inside}


def test_a_start_in_the_past_is_refused_as_past_not_taken(client, clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[0] - timedelta(days=7)
    response = post(client, clinic["service"], start, clinic["location"])
    assert refused(response, "That time has already passed")
    assert "just taken" not in response.content.decode()
    assert not Booking.objects.exists()


def test_a_named_practitioner_off_duty_is_named_in_the_reason(client, clinic):
    data = form_data(clinic["service"], local(2, 7), clinic["location"], practitioner=str(clinic["pat"].pk))
    response = client.post(reverse("booking:request"), data, REMOTE_ADDR="203.0.113.9")
    assert refused(response, "Pat Lee doesn&#x27;t work at that time")


def test_a_move_to_a_closure_day_says_the_clinic_is_closed(client, clinic):
    starts = [
        s for s in free_starts(clinic["service"], location=clinic["location"]) if s > timezone.now() + timedelta(days=2)
    ]
    post(client, clinic["service"], starts[0], clinic["location"])
    booking = Booking.objects.get()
    later = [s for s in starts if timezone.localtime(s).date() != timezone.localtime(starts[0]).date()][0]
    Closure.objects.create(date=timezone.localtime(later).date(), reason="Holiday")
    response = client.post(
        reverse("booking:move", args=[booking.manage_token()]),
        {"slot": encode_slot(later), "action": "move", "version": booking.version},
    )
    assert refused(response, "The clinic is closed on")
    booking.refresh_from_db()
    assert booking.start == starts[0]
