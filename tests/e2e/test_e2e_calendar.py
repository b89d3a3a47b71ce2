"""The front desk's day calendar in the browser at 1280 × 800: four practitioners side by side without scrolling
sideways, free times reached by keyboard, no serious accessibility problems, and a patient marked arrived."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from test_e2e_accessibility import BLOCKING, axe_violations, describe
from test_e2e_front_desk import PASSWORD, no_sideways_scroll, screenshot_dir

from booking.models import Booking, BookingStatus, Closure, Service, TimeOff, VisitType, WorkingHours
from clinic.models import Location, Practitioner
from tests.factories import make_booking

# (practitioner slug, hour, minute, service slug, patient, status, telehealth?)
DAY_PLAN = [
    ("daniel-okafor", 8, 0, "physiotherapy-assessment", "Alex Rivera", BookingStatus.CONFIRMED, False),
    ("daniel-okafor", 9, 30, "physiotherapy-follow-up", "Priya Natarajan", BookingStatus.CONFIRMED, False),
    ("daniel-okafor", 10, 0, "dry-needling-30", "Marcus Bell", BookingStatus.REQUESTED, False),
    ("daniel-okafor", 13, 0, "physiotherapy-follow-up", "Hannah Kowalski", BookingStatus.CONFIRMED, True),
    ("mei-ling-tran", 9, 0, "acupuncture-first-visit", "Jordan Ellis", BookingStatus.CONFIRMED, False),
    ("mei-ling-tran", 10, 30, "acupuncture-follow-up", "Grace Okonkwo", BookingStatus.CONFIRMED, False),
    ("mei-ling-tran", 14, 0, "acupuncture-follow-up", "Tom Fischer", BookingStatus.REQUESTED, False),
    ("amira-haddad", 9, 0, "myotherapy-60", "Lucia Romero", BookingStatus.CONFIRMED, False),
    ("amira-haddad", 11, 0, "myotherapy-60", "Ben Adeyemi", BookingStatus.CONFIRMED, False),
    ("amira-haddad", 14, 30, "myotherapy-60", "Chloe Martin", BookingStatus.REQUESTED, False),
    ("sofia-lindqvist", 16, 0, "telehealth-consultation", "Sam Whitfield", BookingStatus.CONFIRMED, True),
]


def next_open_wednesday():
    day = timezone.localdate() + timedelta(days=1)
    while day.weekday() != 2 or Closure.objects.filter(date=day).exists():
        day += timedelta(days=1)
    return day


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


@pytest.fixture
def busy_day(content):
    """The clinic's content plus a fourth practitioner, a realistic Wednesday of bookings and a lunch break."""
    location = Location.objects.first()
    amira = Practitioner.objects.create(
        name="Amira Haddad", slug="amira-haddad", title="Registered Massage Therapist", credentials="RMT", order=9
    )
    WorkingHours.objects.create(practitioner=amira, weekday=2, start=time(9), end=time(17), location=location)
    Service.objects.get(slug="myotherapy-60").practitioners.add(amira)
    day = next_open_wednesday()
    TimeOff.objects.create(practitioner=amira, start=at(day, 12), end=at(day, 13), reason="Lunch")
    for slug, hour, minute, service, name, status, video in DAY_PLAN:
        make_booking(
            Practitioner.objects.get(slug=slug),
            Service.objects.get(slug=service),
            at(day, hour, minute),
            visit_type=VisitType.TELEHEALTH if video else VisitType.IN_CLINIC,
            location=location,
            patient_name=name,
            status=status,
        )
    return day


@pytest.fixture
def signed_in(make_page, live_server, django_user_model):
    django_user_model.objects.create_superuser("desk", "desk@clinic.example", PASSWORD)
    page = make_page(desktop=True, bypass_csp=True)  # axe is injected as a script: CSP bypassed for it only
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Username").fill("desk")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("desk")
    return page


def test_day_calendar_fits_1280_works_by_keyboard_and_passes_axe(signed_in, busy_day, live_server, axe_source):
    page = signed_in
    page.goto(f"{live_server.url}/admin/booking/booking/schedule/day/?date={busy_day.isoformat()}")
    heads = page.locator(".cal-head").all_inner_texts()
    assert heads == ["Mei-Ling Tran", "Daniel Okafor", "Sofia Lindqvist", "Amira Haddad"], heads
    for head in page.locator(".cal-head").all():
        box = head.bounding_box()
        assert box["x"] + box["width"] <= 1280, box
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir() / "admin-calendar-1280.png"))
    block = page.locator(".cal-booking", has_text="Alex Rivera")
    expect(block).to_contain_text("08:00–09:00")
    expect(block).to_contain_text("Confirmed")
    quarter = page.locator(".cal-free").first.bounding_box()["height"]
    assert 23 <= quarter <= 25, quarter  # a quarter hour: a 24 px target
    assert 94 <= block.bounding_box()["height"] <= 98  # an hour: four quarter hours
    expect(page.locator(".cal-off")).to_have_text("Time off 12:00–13:00: Lunch")
    expect(page.get_by_role("link", name="Book 11:15 with Daniel Okafor")).to_have_count(1)

    page.locator("#id_date").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => [document.activeElement.className, document.activeElement.ariaLabel]")
        if "cal-free" in focused[0]:
            break
    assert focused[1].startswith("Book ") and " with " in focused[1], focused
    href = page.evaluate("() => document.activeElement.getAttribute('href')")
    assert "/admin/booking/booking/add/?practitioner=" in href and "&start=" in href
    page.screenshot(path=str(screenshot_dir() / "admin-calendar-1280.png"))

    violations = axe_violations(page, axe_source)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)

    # Printed, it is a day sheet: the bookings, time off and names, without navigation or booking links.
    page.emulate_media(media="print")
    expect(page.locator(".cal-free").first).to_be_hidden()
    expect(page.locator(".schedule-nav")).to_be_hidden()
    expect(page.locator(".cal-booking", has_text="Alex Rivera")).to_be_visible()
    expect(page.locator(".cal-off")).to_be_visible()


def test_week_calendar_one_practitioner_passes_axe(signed_in, busy_day, live_server, axe_source):
    page = signed_in
    daniel = Practitioner.objects.get(slug="daniel-okafor")
    page.goto(f"{live_server.url}/admin/booking/booking/schedule/week/?date={busy_day.isoformat()}")
    page.get_by_label("Practitioner").select_option(str(daniel.pk))
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".cal-booking", has_text="Priya Natarajan")).to_be_visible()
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir() / "admin-week-1280.png"))
    blocking = [v for v in axe_violations(page, axe_source) if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)


def test_marking_a_patient_arrived_from_the_calendar_by_keyboard(signed_in, content, live_server):
    page = signed_in
    now = timezone.localtime()
    start = now.replace(minute=0, second=0, microsecond=0)
    booking = make_booking(
        Practitioner.objects.get(slug="daniel-okafor"),
        Service.objects.get(slug="physiotherapy-assessment"),
        start,
        location=Location.objects.first(),
        patient_name="Alex Rivera",
        status=BookingStatus.CONFIRMED,
    )
    page.goto(f"{live_server.url}/admin/booking/booking/schedule/day/")
    expect(page.locator(".cal-now")).to_contain_text(f"Now {now:%H}:")
    page.locator(".cal-booking", has_text="Alex Rivera").locator("a").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent").startswith("Mark arrived")
    page.keyboard.press("Enter")
    expect(page.locator(".messagelist")).to_contain_text("Arrived")
    expect(page.locator(".cal-booking", has_text="Alex Rivera")).to_contain_text("Arrived")
    assert page.url.endswith("/schedule/day/")
    booking.refresh_from_db()
    assert booking.arrived_at is not None
    assert Booking.objects.get(pk=booking.pk).events.filter(note__startswith="Arrived").count() == 1


def test_click_a_free_time_book_a_new_caller_and_see_the_block(signed_in, busy_day, live_server):
    page = signed_in
    calendar = f"{live_server.url}/admin/booking/booking/schedule/day/?date={busy_day.isoformat()}"
    page.goto(calendar)
    page.get_by_role("link", name="Book 11:15 with Daniel Okafor").click()
    expect(page.locator("#times input[name=slot]:checked")).to_have_count(1)
    page.get_by_label("Full name").fill("Casey Caller")
    page.get_by_label("Phone", exact=True).fill("416 555 0150")
    page.get_by_role("button", name="Book and confirm").click()
    expect(page.locator(".messagelist")).to_contain_text("confirmed")
    booking = Booking.objects.get(patient__name="Casey Caller")
    assert booking.start == at(busy_day, 11, 15) and booking.practitioner.slug == "daniel-okafor"
    page.goto(calendar)
    block = page.locator(".cal-booking", has_text="Casey Caller")
    expect(block).to_contain_text("11:15–")
    expect(block).to_contain_text("Confirmed")
    expect(page.get_by_role("link", name="Book 11:15 with Daniel Okafor")).to_have_count(0)
