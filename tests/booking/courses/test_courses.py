"""Courses of treatment booked by the front desk: the preview of every date (free, or why not, with the nearest
free time that week), saving every visit at once with one email, cancelling some visits, moving one.

The clinic's zone is America/Toronto; clocks go back on Sunday 1 November 2026, inside the course below.
"""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from booking.courses.preview import Reason, plan_from_booking, preview
from booking.courses.workflow import Scope, book_course, cancel_visits
from booking.forms import encode_slot
from booking.models import Booking, BookingStatus, Closure, Course, OutboxEmail, TimeOff, WorkingHours
from booking.workflow import reschedule
from tests.factories import make_booking

pytestmark = pytest.mark.django_db

TORONTO = timezone.get_default_timezone()
NOW = datetime(2026, 10, 19, 9, 0, tzinfo=TORONTO)  # Monday, a week before the first visit


def at(day, hour, minute=0):
    """A clinic-time moment in late 2026, e.g. at(26, 10) = Monday 26 October 10:00 (November from day 32)."""
    month, day = (10, day) if day <= 31 else (11, day - 31)
    return datetime(2026, month, day, hour, minute, tzinfo=TORONTO)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def first_visit(desk_clinic):
    """Monday 26 October 10:00 with Pat, confirmed: the visit the course is booked from."""
    return desk_clinic.booking(at(26, 10), status=BookingStatus.CONFIRMED)


def course_url(booking):
    return reverse("admin:booking_booking_course", args=[booking.pk])


def msgs(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def post_preview(client, booking, every=1, visits=6):
    return client.post(
        course_url(booking), {"action": "preview", "every_weeks": every, "visits": visits, "version": booking.version}
    )


def post_save(client, booking, rows, every=1, visits=6, **choices):
    """Press "book" with the choices the preview offered by default (or those given as visit_<n>=...)."""
    data = {"action": "save", "every_weeks": every, "visits": visits, "version": booking.version}
    data.update({row["field"]: row["default"] for row in rows if row["choices"]})
    data.update(choices)
    return client.post(course_url(booking), data)


def ics_events(message):
    (attachment,) = [a for a in message.attachments if a[0].endswith(".ics")]
    cal = Calendar.from_ical(attachment[1])
    return cal, [c for c in cal.walk() if c.name == "VEVENT"]


# --- the preview ------------------------------------------------------------------------------------------------


def test_preview_names_each_conflict_and_keeps_the_wall_clock_time_across_daylight_saving(desk_clinic, first_visit):
    pat = desk_clinic.pat
    # Week 2 (2 November, the first Monday after clocks go back): Pat is away 10:00-11:00 clinic time.
    TimeOff.objects.create(practitioner=pat, start=at(33, 10), end=at(33, 11), reason="Dentist")
    # Week 3: another patient has 10:00.
    other = desk_clinic.booking(at(40, 10), status=BookingStatus.CONFIRMED)
    # Week 4: the clinic is closed.
    Closure.objects.create(date=at(47, 0).date(), reason="Staff training")

    result = preview(plan_from_booking(first_visit, 1, 6), staff=True)

    local_starts = [timezone.localtime(v.start, TORONTO) for v in result.visits]
    assert [(s.month, s.day, s.hour, s.minute) for s in local_starts] == [
        (10, 26, 10, 0),
        (11, 2, 10, 0),
        (11, 9, 10, 0),
        (11, 16, 10, 0),
        (11, 23, 10, 0),
        (11, 30, 10, 0),
    ]
    # Same wall-clock time, a different UTC hour once clocks went back.
    assert result.visits[0].start.utcoffset() == result.visits[1].start.utcoffset() == timedelta(0)
    assert (result.visits[1].start - result.visits[0].start) == timedelta(days=7, hours=1)

    first, dst_week, booked_week, closed_week, fifth, sixth = result.visits
    assert first.already_booked
    assert (dst_week.free, dst_week.reason) == (False, Reason.TIME_OFF)
    assert (booked_week.free, booked_week.reason) == (False, Reason.BOOKED)
    assert (closed_week.free, closed_week.reason, closed_week.closure_name) == (False, Reason.CLOSURE, "Staff training")
    assert fifth.free and sixth.free
    # Nearest free alternative the same week: the same day at the nearest time (earlier on a tie), or the next
    # day at the same time when the clinic is closed.
    assert dst_week.alternative == at(33, 9)
    assert booked_week.alternative == at(40, 9)
    assert closed_week.alternative == at(48, 10)
    # Reading changes nothing.
    assert Booking.objects.count() == 2 and not Course.objects.exists()
    assert other.status == BookingStatus.CONFIRMED


def test_preview_outside_hours_offers_the_last_time_that_fits(desk_clinic):
    # Placed at 15:30 by hand: a 60-minute visit then runs past Pat's 16:00 close on every later Monday.
    late = desk_clinic.booking(at(26, 15, 30), status=BookingStatus.CONFIRMED)
    result = preview(plan_from_booking(late, 2, 3), staff=True)
    assert [v.reason for v in result.visits[1:]] == [Reason.OUTSIDE_HOURS, Reason.OUTSIDE_HOURS]
    assert result.visits[1].alternative == at(40, 15)  # every 2 weeks: 9 November, 15:00 the same day


def test_preview_outside_hours_when_the_practitioner_stops_working_that_weekday(desk_clinic, first_visit):
    WorkingHours.objects.filter(practitioner=desk_clinic.pat, weekday=0).delete()  # no more Mondays
    result = preview(plan_from_booking(first_visit, 1, 3), staff=True)
    assert [v.reason for v in result.visits[1:]] == [Reason.OUTSIDE_HOURS] * 2
    assert result.visits[1].alternative == at(34, 10)  # Tuesday at the same time


def test_staff_preview_page_lists_every_date_in_words(desk, desk_clinic, first_visit):
    desk_clinic.booking(at(40, 10), status=BookingStatus.CONFIRMED)
    page = post_preview(desk, first_visit).content.decode()
    assert page.count('class="course-visit ') == 6
    assert "Already booked (this visit)" in page
    assert "In conflict — Booked: another visit takes this time" in page
    assert "Book Mon 9 Nov, 09:00 instead (same week)" in page
    assert page.count("<strong>Free</strong>") == 4


# --- saving -----------------------------------------------------------------------------------------------------


def test_saving_makes_one_booking_per_visit_and_one_email_with_an_event_each(desk, desk_clinic, first_visit, deliver):
    rows = post_preview(desk, first_visit).context["rows"]
    response = post_save(desk, first_visit, rows)
    assert response.status_code == 302, msgs(response)

    course = Course.objects.get()
    visits = list(course.bookings.order_by("start"))
    assert len(visits) == 6 and visits[0] == first_visit
    assert len({v.reference for v in visits}) == 6
    assert all(v.status == BookingStatus.CONFIRMED for v in visits)
    assert [timezone.localtime(v.start, TORONTO).hour for v in visits] == [10] * 6
    # Each new visit has its own reminder planned, like any confirmed booking.
    assert OutboxEmail.objects.filter(kind="reminder", booking__in=visits[1:]).count() == 5
    # Health details stay where they were given.
    assert all(v.reason == "" for v in visits[1:])

    sent = deliver()
    assert [m.subject for m in sent] == ["Your course of appointments is booked – from Monday 26 October"]
    (message,) = sent
    for visit in visits:
        assert visit.reference in message.body
    assert first_visit.reason not in message.body
    cal, events = ics_events(message)
    assert len(events) == 6
    # One event per visit, under the UID that visit's own emails use, so a later change updates only it.
    assert {str(e["uid"]).split("@")[0] for e in events} == {f"booking-{v.reference}" for v in visits}
    assert str(cal["method"]) == "PUBLISH"

    # The same form again (a double click, the back button): nothing more is saved or sent.
    again = post_save(desk, first_visit, rows)
    assert again.status_code == 302
    assert Booking.objects.count() == 6 and Course.objects.count() == 1
    assert deliver() == sent


def test_staff_can_take_an_alternative_or_skip_a_date(desk, desk_clinic, first_visit):
    desk_clinic.booking(at(40, 10), status=BookingStatus.CONFIRMED)
    rows = post_preview(desk, first_visit, visits=4).context["rows"]
    assert rows[2]["default"] == f"alternative:{encode_slot(at(40, 9))}"
    response = post_save(desk, first_visit, rows, visits=4, visit_4="skip")
    assert response.status_code == 302
    starts = list(Course.objects.get().bookings.order_by("start").values_list("start", flat=True))
    assert starts == [at(26, 10), at(33, 10), at(40, 9)]


def test_a_time_taken_between_preview_and_save_saves_nothing_and_shows_the_conflict(
    desk, desk_clinic, first_visit, deliver
):
    rows = post_preview(desk, first_visit).context["rows"]
    assert all(row["default"] == "keep" for row in rows[1:])
    # Someone else takes week 4 while the front desk reads the preview.
    desk_clinic.booking(at(47, 10), status=BookingStatus.CONFIRMED)

    response = post_save(desk, first_visit, rows)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was saved: Monday 16 November, 10:00 was taken while you were choosing." in page
    week_4 = response.context["preview"].visits[3]
    assert (week_4.free, week_4.reason) == (False, Reason.BOOKED)
    assert not Course.objects.exists()
    assert Booking.objects.count() == 2
    assert Booking.objects.get(pk=first_visit.pk).course_id is None
    assert OutboxEmail.objects.count() == 0
    assert deliver() == []


def test_a_stale_page_books_nothing(desk, desk_clinic, first_visit):
    rows = post_preview(desk, first_visit).context["rows"]
    reschedule(first_visit, at(26, 11), by=desk_clinic.desk)  # a colleague moved it meanwhile
    response = post_save(desk, first_visit, rows)
    assert response.status_code == 302
    assert "This booking changed since you opened this page" in msgs(response)[0]
    assert not Course.objects.exists()


# --- cancelling and moving --------------------------------------------------------------------------------------


@pytest.fixture
def course(desk_clinic, first_visit):
    plan = plan_from_booking(first_visit, 1, 6)
    starts = [v.start for v in preview(plan, staff=True).visits[1:]]
    course, _ = book_course(plan, starts, by=desk_clinic.desk, version=first_visit.version)
    OutboxEmail.objects.all().delete()  # the booking email is tested above
    return list(course.bookings.order_by("start"))


def test_cancel_this_and_following_leaves_earlier_and_past_visits(desk, desk_clinic, course, clock, deliver):
    clock.move_to(at(34, 12))  # Tuesday 3 November: visits 1 and 2 are past
    desk.force_login(desk_clinic.desk)  # the sign-in of two weeks ago has expired
    v = course
    url = reverse("admin:booking_booking_course_cancel", args=[v[3].pk])
    page = desk.get(url + "?scope=following").content.decode()
    assert page.count("<li>") == 3 and v[3].reference in page and v[2].reference not in page

    response = desk.post(url, {"scope": "following", "version": v[3].version})
    assert response.status_code == 302

    statuses = [Booking.objects.get(pk=b.pk).status for b in v]
    assert statuses == [BookingStatus.CONFIRMED] * 3 + [BookingStatus.CANCELLED] * 3
    (message,) = deliver()
    assert message.subject.startswith("Appointments of your course are cancelled")
    assert v[2].reference in message.body.split("still booked")[1]
    cal, events = ics_events(message)
    assert str(cal["method"]) == "CANCEL"
    assert len(events) == 3 and all(str(e["status"]) == "CANCELLED" for e in events)
    assert {str(e["uid"]).split("@")[0] for e in events} == {f"booking-{b.reference}" for b in v[3:]}
    # Their reminders are withdrawn; the remaining visit keeps its own.
    assert not OutboxEmail.objects.filter(kind="reminder", booking__in=v[3:], status="pending").exists()

    # Pressed again (a stale tab): nothing more changes, nothing more is sent.
    desk.post(url, {"scope": "following", "version": v[3].version})
    assert deliver() == [message]


def test_cancel_the_whole_course_keeps_past_visits(course, clock, desk_clinic, deliver):
    clock.move_to(at(34, 12))
    cancelled = cancel_visits(course[4], Scope.ALL, by=desk_clinic.desk)
    assert [b.pk for b in cancelled] == [b.pk for b in course[2:]]
    assert Booking.objects.filter(pk__in=[course[0].pk, course[1].pk], status=BookingStatus.CONFIRMED).count() == 2
    assert len(deliver()) == 1


def test_cancel_one_visit_is_an_ordinary_cancellation(course, desk_clinic, deliver):
    cancel_visits(course[2], Scope.THIS, by=desk_clinic.desk)
    assert [Booking.objects.get(pk=b.pk).status for b in course].count(BookingStatus.CANCELLED) == 1
    (message,) = deliver()
    _cal, events = ics_events(message)
    assert len(events) == 1 and course[2].reference in str(events[0]["uid"])


def test_moving_one_visit_leaves_the_others_and_updates_only_its_event(course, desk_clinic, deliver):
    before = {b.pk: (b.start, b.ics_sequence, b.version) for b in course}
    moved = reschedule(course[2], at(40, 13), by=desk_clinic.desk)
    assert moved.course_id == course[0].course_id
    for b in course:
        fresh = Booking.objects.get(pk=b.pk)
        if b.pk == moved.pk:
            assert fresh.start == at(40, 13) and fresh.ics_sequence == before[b.pk][1] + 1
        else:
            assert (fresh.start, fresh.ics_sequence, fresh.version) == before[b.pk]
    (message,) = deliver()
    _cal, events = ics_events(message)
    assert len(events) == 1
    assert course[2].reference in str(events[0]["uid"]) and events[0]["sequence"] == before[moved.pk][1] + 1


def test_booking_page_shows_the_course_and_its_buttons(desk, course):
    page = desk.get(reverse("admin:booking_booking_change", args=[course[1].pk])).content.decode()
    for visit in course:
        assert visit.reference in page
    assert "Cancel this and following visits…" in page and "Cancel the whole course…" in page
    assert "Book a course from this visit" not in page


# --- patients online ------------------------------------------------------------------------------------------


def _online(service, clinic, **overrides):
    from tests.factories import form_data

    data = form_data(service, at(26, 10), clinic.location, practitioner=str(clinic.pat.pk))
    data.update({"course_visits": "6", "course_every_weeks": "1", **overrides})
    return data


def test_online_course_needs_a_service_that_allows_it(client, desk_clinic):
    page = client.get("/book/").content.decode()
    assert "A course of visits" not in page  # no service allows it: the fields are not shown
    response = client.post("/book/", _online(desk_clinic.service, desk_clinic))
    assert response.status_code == 200
    assert "can&#x27;t be booked as a course online" in response.content.decode()
    assert not Booking.objects.exists()


def test_online_course_preview_then_booking_without_javascript(client, desk_clinic, deliver):
    service = desk_clinic.service
    service.allows_online_course = True
    service.save()
    assert "4. A course of visits (optional)" in client.get("/book/").content.decode()
    desk_clinic.booking(at(40, 10), status=BookingStatus.CONFIRMED, email="someone@example.com")
    data = _online(service, desk_clinic)

    review = client.post("/book/", data)
    assert review.status_code == 200
    page = review.content.decode()
    assert "Your course of visits" in page and "Nothing is booked yet" in page
    assert "In conflict — Booked: another visit takes this time" in page
    assert Booking.objects.count() == 1  # nothing saved by the preview
    rows = review.context["rows"]

    choices = {row["field"]: row["default"] for row in rows}
    done = client.post("/book/", {**data, **choices, "action": "book_course"})
    assert done.status_code == 302, done.content.decode()[:2000]
    course = Course.objects.get()
    visits = list(course.bookings.order_by("start"))
    assert len(visits) == 6
    assert visits[2].start == at(40, 9)  # the alternative offered for the taken week
    assert {v.status for v in visits} == {BookingStatus.REQUESTED}  # the clinic reviews online requests
    assert visits[0].reason == "Calf cramps at night" and all(v.reason == "" for v in visits[1:])
    sent = deliver()
    assert sorted(m.subject.split(" – ")[0] for m in sent) == [
        "New request for a course of appointments from Monday 26 October",
        "We have your request for a course of appointments",
    ]
    to_patient = next(m for m in sent if m.to == ["alex@example.com"])
    assert "Calf cramps" not in to_patient.body and all(v.reference in to_patient.body for v in visits)

    # The same form again: the first visit's one-time key finds the course; nothing more is booked.
    again = client.post("/book/", {**data, **choices, "action": "book_course"})
    assert again.status_code == 302
    assert Booking.objects.count() == 7


def test_the_preview_costs_the_same_queries_with_more_bookings(desk_clinic, first_visit):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count():
        with CaptureQueriesContext(connection) as queries:
            preview(plan_from_booking(first_visit, 1, 12), staff=True)
        return len(queries)

    few = count()
    for week in range(12):
        for hour in (8, 12, 14):
            desk_clinic.booking(at(33, hour) + timedelta(weeks=week), status=BookingStatus.CONFIRMED)
    assert count() == few == 4


def test_staff_dates_follow_the_staff_rule_and_every_visit_is_the_same_patient(desk_clinic, first_visit):
    # A 40-minute visit at 9:00 the next Monday: the picker's steps then restart at 9:45, but staff may take
    # any free start inside working hours, so 10:00 is free for the course as it is for a phone booking.
    short = desk_clinic.service.__class__.objects.create(name="Short", slug="short-40", duration_minutes=40)
    short.practitioners.add(desk_clinic.pat)
    make_booking(desk_clinic.pat, short, at(33, 9), location=desk_clinic.location, status=BookingStatus.CONFIRMED)
    plan = plan_from_booking(first_visit, 1, 2)
    result = preview(plan, staff=True)
    assert result.visits[1].free
    course, visits = book_course(plan, [result.visits[1].start], by=desk_clinic.desk, version=first_visit.version)
    assert visits[0].start == at(33, 10)
    assert {b.patient_id for b in course.bookings.all()} == {first_visit.patient_id}
