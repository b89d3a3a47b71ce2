"""What only PostgreSQL can guarantee: no two active bookings of one practitioner ever overlap."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connections, transaction
from django.test import Client
from django.utils import timezone

from booking.models import Booking, BookingStatus, Patient
from tests.factories import form_data, free_starts, make_clinic, make_practitioner, make_service

pytestmark = [
    pytest.mark.postgres,
]


def _row(service, practitioner, start, minutes=60, status=BookingStatus.REQUESTED, **extra):
    return Booking(
        patient=Patient.objects.get_or_create(name="X", email="x@example.com", phone="+14165550123")[0],
        service=service,
        visit_type="in_clinic",
        practitioner=practitioner,
        start=start,
        end=start + timedelta(minutes=minutes),
        blocked_until=start + timedelta(minutes=minutes),
        status=status,
        patient_name="X",
        email="x@example.com",
        phone="+14165550123",
        contact_preference="email",
        patient_type="new",
        consent_at=timezone.now(),
        privacy_version="1",
        **extra,
    )


@pytest.mark.django_db
def test_exclusion_constraint_rejects_overlap_whatever_the_code_does():
    _, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    start = timezone.now() + timedelta(days=3)
    _row(service, pat, start).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        _row(service, pat, start + timedelta(minutes=30)).save()
    # Touching is fine (half-open ranges), and inactive bookings do not hold time.
    _row(service, pat, start + timedelta(minutes=60)).save()
    _row(service, pat, start + timedelta(minutes=15), status=BookingStatus.CANCELLED).save()
    assert Booking.objects.count() == 3


@pytest.mark.django_db
def test_cancelled_booking_can_be_replaced_but_not_reactivated_over_another():
    _, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    start = timezone.now() + timedelta(days=3)
    first = _row(service, pat, start)
    first.save()
    Booking.objects.filter(pk=first.pk).update(status=BookingStatus.CANCELLED)
    _row(service, pat, start).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.filter(pk=first.pk).update(status=BookingStatus.CONFIRMED)


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_for_one_slot_make_exactly_one_booking():
    _, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    start = free_starts(service, location=location)[0]
    n = 20
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            client = Client()
            data = form_data(service, start, location, email=f"patient{i}@example.com")
            barrier.wait()
            response = client.post("/book/", data, REMOTE_ADDR=f"198.51.100.{i + 1}")
            results[i] = (response.status_code, response.content.decode())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Booking.objects.filter(start=start).count() == 1
    codes = [code for code, _ in results]
    assert codes.count(302) == 1
    friendly = [body for code, body in results if code == 200]
    assert len(friendly) == n - 1
    assert all("That time was just taken — please choose another." in body for body in friendly)
