"""Availability read from the database: hours, time off, closures, bookings and buffers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from booking import workflow
from booking.models import Booking, BookingStatus, Closure, TimeOff, VisitType
from tests.factories import free_starts, make_clinic, make_practitioner, make_service, patient

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


@pytest.fixture
def setup():
    _, location = make_clinic()
    pat = make_practitioner(location=location)
    return location, pat


def test_slots_respect_notice_and_horizon(setup, settings):
    location, pat = setup
    service = make_service([pat])
    starts = free_starts(service, location=location)
    now = timezone.now()
    assert min(starts) >= now + timedelta(hours=settings.BOOKING_MIN_NOTICE_HOURS)
    assert max(starts) <= now + timedelta(days=settings.BOOKING_HORIZON_DAYS)


def test_booking_takes_its_slot_and_buffer_and_cancelling_frees_it(setup):
    location, pat = setup
    service = make_service([pat], buffer=15)
    start = free_starts(service, location=location)[0]
    booking = workflow.request_booking(
        service=service,
        visit_type=VisitType.IN_CLINIC,
        location=location,
        practitioner=None,
        start=start,
        patient=patient(),
    )
    after = free_starts(service, location=location)
    assert start not in after
    # The next start on that day waits for the 15-minute buffer.
    same_day = [s for s in after if timezone.localtime(s).date() == timezone.localtime(start).date()]
    assert all(s >= start + timedelta(minutes=75) or s + timedelta(minutes=75) <= start for s in same_day)
    workflow.change_status(booking, BookingStatus.CANCELLED, by="tester")
    assert start in free_starts(service, location=location)


def test_time_off_and_closures_remove_slots(setup):
    location, pat = setup
    service = make_service([pat])
    starts = free_starts(service, location=location)
    first_day = timezone.localtime(starts[0]).date()
    Closure.objects.create(date=first_day, reason="Holiday")
    assert all(timezone.localtime(s).date() != first_day for s in free_starts(service, location=location))
    later = [s for s in starts if timezone.localtime(s).date() > first_day]
    TimeOff.objects.create(practitioner=pat, start=later[0] - timedelta(hours=1), end=later[0] + timedelta(hours=2))
    assert later[0] not in free_starts(service, location=location)


def test_inactive_service_or_practitioner_offers_nothing(setup):
    location, pat = setup
    service = make_service([pat])
    pat.is_active = False
    pat.save()
    assert free_starts(service, location=location) == []


def test_telehealth_and_clinic_hours_are_separate(setup):
    location, pat = setup
    service = make_service([pat])
    clinic_hours = {timezone.localtime(s).hour for s in free_starts(service, location=location)}
    video_hours = {timezone.localtime(s).hour for s in free_starts(service, VisitType.TELEHEALTH)}
    assert clinic_hours <= set(range(9, 17)) and video_hours <= {18, 19}


def test_booking_str_never_shows_the_patient(setup):
    location, pat = setup
    service = make_service([pat])
    start = free_starts(service, location=location)[0]
    booking = workflow.request_booking(
        service=service,
        visit_type=VisitType.IN_CLINIC,
        location=location,
        practitioner=None,
        start=start,
        patient=patient(),
    )
    assert "Alex" not in str(booking) and str(booking) == booking.reference
    assert Booking.objects.get().events.count() == 1


def test_browsing_reuses_cached_availability_until_something_changes(setup, django_assert_num_queries):
    location, pat = setup
    service = make_service([pat])
    first = free_starts(service, location=location)
    with django_assert_num_queries(0):
        assert free_starts(service, location=location) == first
    # Time off saved by staff replaces the cached answer at once.
    TimeOff.objects.create(practitioner=pat, start=first[0] - timedelta(minutes=1), end=first[0] + timedelta(hours=1))
    assert first[0] not in free_starts(service, location=location)
