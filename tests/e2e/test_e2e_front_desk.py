"""The front desk's admin screens on a 1280 × 800 laptop: everything needed is visible without scrolling sideways."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from booking import workflow
from booking.models import Booking, OutboxEmail, OutboxStatus, Service, VisitType
from booking.scheduling.availability import slots_for
from tests.factories import patient

PASSWORD = "a-long-test-password-42"


def no_sideways_scroll(page):
    sizes = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,"
        " wide: [...document.querySelectorAll('.cal, #changelist .results')]"
        ".map(e => [e.scrollWidth, e.clientWidth])})"
    )
    assert sizes["scroll"] <= sizes["client"], sizes
    for inner, outer in sizes["wide"]:
        assert inner <= outer, sizes
    return sizes


def header_visible(page, name):
    """The column heading is inside the viewport (not cut off to the right)."""
    expect(page.locator("#result_list")).to_be_visible()
    texts = [t.strip().lower() for t in page.locator("#result_list thead th").all_inner_texts()]
    assert name.lower() in texts, texts
    heading = page.locator("#result_list thead th").nth(texts.index(name.lower()))
    expect(heading).to_be_visible()
    box = heading.bounding_box()
    assert box["x"] + box["width"] <= 1280, (name, box)


@pytest.fixture
def desk(make_page, live_server, django_user_model):
    """Three requests across the week (one telehealth), one failed email, and a signed-in superuser."""
    physio = Service.objects.get(slug="physiotherapy-assessment")
    acu = Service.objects.get(slug="acupuncture-first-visit")
    made = []
    for service, visit in ((physio, VisitType.IN_CLINIC), (acu, VisitType.IN_CLINIC), (physio, VisitType.TELEHEALTH)):
        start = sorted(slots_for(service, visit, None, None))[len(made) * 7]
        made.append(
            workflow.request_booking(
                service=service,
                visit_type=visit,
                location=None
                if visit == VisitType.TELEHEALTH
                else service.practitioners.first().working_hours.exclude(location=None).first().location,
                practitioner=None,
                start=start,
                patient=patient(name=f"Patient Number{len(made)} Longername", phone="+14165550134"),
            )
        )
    OutboxEmail.objects.filter(kind="acknowledgement").update(
        status=OutboxStatus.FAILED, attempts=3, last_error="SMTP 451: temporary local problem, try again later"
    )
    django_user_model.objects.create_superuser("desk", "desk@clinic.example", PASSWORD)
    page = make_page(desktop=True)
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Username").fill("desk")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("desk")
    page.bookings = made
    return page


def test_bookings_list_shows_every_column_at_1280(desk, live_server, screenshot):
    page = desk
    page.goto(live_server.url + "/admin/booking/booking/")
    for name in ("Reference", "Start", "Patient", "Service", "Practitioner", "Status"):
        header_visible(page, name)
    booking = page.bookings[0]
    row = page.locator("#result_list tbody tr", has_text=booking.reference)
    expect(row).to_contain_text(booking.practitioner.name)
    expect(row).to_contain_text("Requested")
    page.screenshot(path=str(screenshot_dir() / "admin-bookings-list-1280.png"))
    no_sideways_scroll(page)


def test_week_calendar_shows_all_seven_days(desk, live_server):
    page = desk
    page.goto(live_server.url + "/admin/booking/booking/schedule/week/")
    headings = page.locator(".cal-head").all_inner_texts()
    assert len(headings) == 7 and any(h.lower().startswith("sat") for h in headings), headings
    sunday = page.locator(".cal-head", has_text=re.compile("^Sun", re.I))
    box = sunday.bounding_box()
    assert box["x"] + box["width"] <= 1280, box
    no_sideways_scroll(page)


def test_outbox_shows_status_attempts_error_and_readable_text(desk, live_server):
    page = desk
    page.goto(live_server.url + "/admin/booking/outboxemail/")
    for name in ("Status", "Attempts", "Last error"):
        header_visible(page, name)
    expect(page.locator("#result_list")).to_contain_text("Request received (to patient)")
    expect(page.locator("#result_list")).not_to_contain_text("new_request")
    expect(page.locator("#result_list")).to_contain_text("SMTP 451")
    page.screenshot(path=str(screenshot_dir() / "admin-outbox-1280.png"))
    no_sideways_scroll(page)
    page.locator("#result_list tbody tr", has_text="Request received (to patient)").first.locator("th a").click()
    expect(page.locator(".outbox-body")).to_contain_text("Thank you for your appointment request")
    no_sideways_scroll(page)


def test_staff_reschedule_shows_old_and_new_time_and_asks_first(desk, live_server, screenshot):
    page = desk
    booking = page.bookings[0]
    old_start = booking.start
    page.goto(f"{live_server.url}/admin/booking/booking/{booking.pk}/reschedule/")
    expect(page.locator(".picker-zone")).to_contain_text("Eastern Time (Toronto)")
    no_sideways_scroll(page)
    day = page.locator(".picker-day").nth(1)
    legend = day.locator("legend").inner_text()
    day.locator(".slot-list label").first.click()
    page.get_by_role("button", name="Review the move").click()
    expect(page.locator(".booking-move")).to_contain_text("Old time")
    expect(page.locator(".booking-move")).to_contain_text(legend.split()[0])
    booking.refresh_from_db()
    assert booking.start == old_start, "choosing a time must not move the booking yet"
    page.screenshot(path=str(screenshot_dir() / "admin-reschedule-confirm-1280.png"))
    page.get_by_role("button", name="Move and email the patient").click()
    expect(page.locator(".messagelist")).to_contain_text(booking.reference)
    booking.refresh_from_db()
    local = timezone.localtime(booking.start)
    assert f"{local:%A} {local.day} {local:%B}" == legend
    assert booking.start - old_start > timedelta(0)
    assert Booking.objects.get(pk=booking.pk).events.filter(note__startswith="Moved from").exists()


def screenshot_dir():
    from conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
