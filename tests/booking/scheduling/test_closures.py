"""Statutory holidays become clinic closures: loaded once per date, editable by staff, never bookable."""

import io
from datetime import date, timedelta

import pytest
from django.utils import timezone

from booking.models import Closure
from booking.scheduling.closures import load_holiday_closures, statutory_holidays
from tests.factories import free_starts, make_clinic, make_practitioner, make_service

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def quiet(_message):
    return None


def test_ontario_statutory_holidays_include_christmas_new_year_and_family_day():
    found = statutory_holidays([2026, 2027], "CA-ON")
    assert found[date(2026, 12, 25)] == "Christmas Day"
    assert found[date(2027, 1, 1)] == "New Year's Day"
    assert found[date(2026, 2, 16)] == "Family Day"  # Ontario's own, not a national holiday
    assert found[date(2026, 9, 7)] == "Labour Day"
    assert date(2026, 11, 11) not in found  # Remembrance Day is not a statutory holiday in Ontario


def test_region_comes_from_the_setting_and_can_be_switched_off(settings):
    settings.CLINIC_HOLIDAYS = "CA-BC"
    assert date(2026, 9, 30) in statutory_holidays([2026])  # Truth and Reconciliation Day in British Columbia
    settings.CLINIC_HOLIDAYS = ""
    assert statutory_holidays([2026]) == {}
    assert load_holiday_closures(today=date(2026, 11, 22), log=quiet) == 0


def test_loading_creates_upcoming_holidays_once_and_keeps_staff_edits(settings):
    settings.CLINIC_HOLIDAYS = "CA-ON"
    created = load_holiday_closures(today=date(2026, 11, 22), log=quiet)
    days = set(Closure.objects.values_list("date", flat=True))
    assert {date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1), date(2027, 12, 25)} <= days
    assert date(2026, 7, 1) not in days  # already past
    assert created == len(days)
    Closure.objects.filter(date=date(2026, 12, 25)).update(reason="Closed: Christmas")
    Closure.objects.filter(date=date(2027, 1, 1)).delete()
    assert load_holiday_closures(today=date(2026, 11, 22), log=quiet) == 1  # only the removed one again
    assert Closure.objects.get(date=date(2026, 12, 25)).reason == "Closed: Christmas"
    assert Closure.objects.count() == len(days)


def test_the_content_command_loads_holidays(settings):
    from django.core.management import call_command

    call_command("load_content", verbosity=0, stdout=io.StringIO())
    today = timezone.localdate()
    christmas = date(today.year, 12, 25)
    assert Closure.objects.filter(date=christmas if christmas >= today else christmas.replace(year=today.year + 1))
    call_command("load_content", verbosity=0, stdout=io.StringIO())
    assert Closure.objects.values("date").distinct().count() == Closure.objects.count()


def test_a_closed_day_offers_no_times():
    _, location = make_clinic()
    service = make_service([make_practitioner(location=location)])
    starts = free_starts(service, location=location)
    day = timezone.localtime(starts[0]).date() + timedelta(days=1)
    assert any(timezone.localtime(s).date() == day for s in starts)
    Closure.objects.create(date=day, reason="Christmas Day")
    assert not any(timezone.localtime(s).date() == day for s in free_starts(service, location=location))
