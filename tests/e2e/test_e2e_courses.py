"""A receptionist books a course of treatment from a visit, by keyboard-friendly forms on a 1280 × 800 laptop,
and the preview and the booking page pass axe."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from booking import workflow
from booking.models import Booking, BookingStatus, Course, OutboxEmail, Service, VisitType
from booking.scheduling.availability import slots_for
from tests.factories import patient

PASSWORD = "a-long-test-password-42"
BLOCKING = {"serious", "critical"}


def axe_blocking(page, axe_source):
    page.add_script_tag(path=str(axe_source))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.fixture
def visit(make_page, live_server, django_user_model):
    """A confirmed physiotherapy visit, one week out or more, and a signed-in front-desk superuser."""
    service = Service.objects.get(slug="physiotherapy-assessment")
    start = sorted(slots_for(service, VisitType.IN_CLINIC, None, None))[0]
    location = service.practitioners.first().working_hours.exclude(location=None).first().location
    booking = workflow.request_booking(
        service=service,
        visit_type=VisitType.IN_CLINIC,
        location=location,
        practitioner=None,
        start=start,
        patient=patient(name="Robin Coursetaker"),
    )
    booking = workflow.change_status(booking, BookingStatus.CONFIRMED, by="system")
    django_user_model.objects.create_superuser("desk", "desk@clinic.example", PASSWORD)
    return booking


def test_staff_books_a_course_from_a_visit(visit, make_page, live_server, axe_source, screenshot):
    # axe is injected as a script: this context bypasses the site's CSP (as the accessibility tests do).
    page = make_page(desktop=True, bypass_csp=True)
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Username").fill("desk")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/admin/booking/booking/{visit.pk}/change/")
    page.get_by_role("link", name="Book a course from this visit…").click()
    page.get_by_label("Every").select_option("1")
    page.get_by_label("Visits in the course (this one included)").select_option("4")
    page.get_by_role("button", name="Show the dates").click()

    rows = page.locator(".course-preview tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Already booked (this visit)")
    # The real clock decides the dates: each is free, or in conflict with why (e.g. a statutory holiday).
    for i in (1, 2, 3):
        assert "Free" in rows.nth(i).inner_text() or "In conflict — " in rows.nth(i).inner_text()
    assert not axe_blocking(page, axe_source)
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sizes[0] <= sizes[1], sizes
    screenshot(page, "course-preview")

    # Skip the last date by keyboard, then book what is chosen for visits 2 and 3.
    page.locator("input[name=visit_4][value=skip]").focus()
    page.keyboard.press("Space")
    chosen = page.locator(
        "input[name=visit_2]:checked:not([value=skip]), input[name=visit_3]:checked:not([value=skip])"
    ).count()
    page.get_by_role("button", name="Book the chosen dates and email the patient").click()

    expect(page.locator(".messagelist")).to_contain_text("the patient is emailed once")
    course = Course.objects.get()
    starts = list(course.bookings.order_by("start").values_list("start", flat=True))
    assert len(starts) == 1 + chosen
    # Weekly: each visit in a week of its own (at the same clock time, or the alternative taken that week).
    assert len({timezone.localtime(t).date().isocalendar()[:2] for t in starts}) == len(starts)
    assert OutboxEmail.objects.filter(kind="course_booked").count() == 1
    expect(page.locator(".course-visits li")).to_have_count(len(starts))
    assert not axe_blocking(page, axe_source)
    assert Booking.objects.filter(course=course, status=BookingStatus.CONFIRMED).count() == len(starts)
