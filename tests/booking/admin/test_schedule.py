"""The day and week schedule inside admin, and the front desk's counts on the admin index."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking.admin.schedule import front_desk_counts
from booking.models import BookingStatus
from tests.factories import local

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

DAY = reverse("admin:booking_booking_schedule_day")
WEEK = reverse("admin:booking_booking_schedule_week")


def change_url(booking):
    return reverse("admin:booking_booking_change", args=[booking.pk])


def test_day_view_default_is_today(desk, desk_clinic):
    booking = desk_clinic.booking(local(0, 23))
    assert change_url(booking) in desk.get(DAY).content.decode()


def test_week_view_shows_one_practitioner_a_week_at_a_time(desk, desk_clinic):
    from django.utils import timezone

    today = timezone.localdate()
    monday = -today.weekday()
    mon = desk_clinic.booking(local(monday, 9))
    sun = desk_clinic.booking(local(monday + 6, 17), practitioner=desk_clinic.sam)
    next_week = desk_clinic.booking(local(monday + 7, 9))
    page = desk.get(WEEK).content.decode()
    assert change_url(mon) in page and change_url(sun) not in page and change_url(next_week) not in page
    sam_page = desk.get(WEEK, {"practitioner": desk_clinic.sam.pk}).content.decode()
    assert change_url(sun) in sam_page and change_url(mon) not in sam_page
    next_page = desk.get(WEEK, {"date": local(monday + 7, 0).date().isoformat()}).content.decode()
    assert change_url(next_week) in next_page


def test_schedule_query_count_does_not_grow(desk, desk_clinic):
    desk_clinic.booking(local(2, 9))
    desk.get(WEEK)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            desk.get(WEEK, {"date": local(2, 0).date().isoformat()})
        return len(ctx.captured_queries)

    before = count()
    for hour in range(10, 16):
        desk_clinic.booking(local(2, hour))
    assert count() == before


def test_index_shows_counts_and_links(desk, desk_clinic):
    desk_clinic.booking(local(0, 23, 15))
    desk_clinic.booking(local(1, 9), status=BookingStatus.CONFIRMED)
    desk_clinic.booking(local(1, 11))
    desk_clinic.booking(local(1, 13), status=BookingStatus.DECLINED)
    desk_clinic.booking(local(5, 9))
    response = desk.get(reverse("admin:index"))
    counts = response.context["front_desk"]
    assert (counts["today"], counts["tomorrow"]) == (1, 2)
    # Waiting = requested and still ahead (the one at 23:15 today too, unless it is already past).
    assert counts["waiting"] in (3, 2)
    page = response.content.decode()
    assert DAY in page and WEEK in page
    assert "requests waiting for review" in page


def test_counts_are_one_query(desk_clinic):
    desk_clinic.booking(local(1, 9))
    with CaptureQueriesContext(connection) as ctx:
        front_desk_counts()
    assert len(ctx.captured_queries) == 1
