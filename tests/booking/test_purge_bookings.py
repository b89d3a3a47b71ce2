"""purge_bookings: anonymise old bookings and their emails, keep the counts."""

from io import StringIO

import pytest
from django.core.management import call_command

from booking.management.commands.purge_bookings import months_before
from booking.models import Booking, BookingEvent, BookingStatus, OutboxEmail
from tests.factories import PATIENT_NAME, local

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- purge_bookings ----------------------------------------------------------------------------


def test_months_before_clamps_the_day():
    from datetime import date

    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 24) == date(2024, 1, 15)
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)


def _old(desk_clinic, days_ago, **kwargs):
    booking = desk_clinic.booking(local(-days_ago, 9), status=BookingStatus.COMPLETED, **kwargs)
    OutboxEmail.objects.create(
        kind="confirmation",
        booking=booking,
        recipient=booking.email,
        subject=f"Booking {booking.reference}",
        body=f"Hello {booking.patient_name}",
        ics="BEGIN:VCALENDAR",
        status="sent",
    )
    BookingEvent.objects.create(booking=booking, actor="desk", from_status="requested", to_status="completed")
    return booking


def test_purge_dry_run_changes_nothing(desk_clinic):
    old = _old(desk_clinic, 800)
    out = run("purge_bookings", "--older-than", "24", "--dry-run")
    assert "would anonymise 1 booking" in out and "Nothing was changed" in out
    old.refresh_from_db()
    assert old.patient_name == PATIENT_NAME and old.anonymised_at is None
    assert OutboxEmail.objects.get(booking=old).body.startswith("Hello")


def test_purge_anonymises_old_bookings_and_keeps_counts(desk_clinic):
    old = _old(desk_clinic, 800, staff_notes="Called back", telehealth_url="https://video.example/x")
    recent = _old(desk_clinic, 300)
    before = (Booking.objects.count(), BookingEvent.objects.count(), OutboxEmail.objects.count())
    out = run("purge_bookings", "--older-than", "24")
    assert "Anonymised 1 booking(s)" in out
    old.refresh_from_db()
    assert old.patient_name == "Anonymised"
    assert old.email == f"anonymised+{old.reference}@invalid"
    assert (old.phone, old.phone_as_typed, old.reason, old.staff_notes, old.telehealth_url) == ("", "", "", "", "")
    assert old.anonymised_at is not None
    assert old.status == BookingStatus.COMPLETED and old.service_id == desk_clinic.service.pk
    email = OutboxEmail.objects.get(booking=old)
    assert (email.body, email.ics) == ("", "")
    assert PATIENT_NAME not in email.recipient
    recent.refresh_from_db()
    assert recent.patient_name == PATIENT_NAME
    assert OutboxEmail.objects.get(booking=recent).body.startswith("Hello")
    assert (Booking.objects.count(), BookingEvent.objects.count(), OutboxEmail.objects.count()) == before
    # Running again finds nothing new; a shorter period reaches the recent one.
    assert "Anonymised 0 booking(s)" in run("purge_bookings", "--older-than", "24")
    run("purge_bookings", "--older-than", "6")
    recent.refresh_from_db()
    assert recent.patient_name == "Anonymised"


def test_purge_refuses_zero_months(desk_clinic):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        run("purge_bookings", "--older-than", "0")
