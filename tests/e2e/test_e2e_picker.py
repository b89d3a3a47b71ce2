"""The slot picker in a real browser: what the patient presses is what is saved, on every page, at phone and
desktop widths, with and without JavaScript; no choice leads to a dead end; times name their zone."""

import re

import pytest
from e2e_steps import assert_confirmation, book, choose_time, choose_time_on_day, fill_details, later_dates, send
from playwright.sync_api import expect

from booking.models import Booking, VisitType

PHYSIO = "?service=physiotherapy-assessment"
MODES = [
    pytest.param(False, True, id="phone-js"),
    pytest.param(False, False, id="phone-nojs"),
    pytest.param(True, True, id="desktop-js"),
    pytest.param(True, False, id="desktop-nojs"),
]


def local_day_and_time(booking):
    """The saved start as the patient read it: ("Friday 18 December", "10 a.m.") in the clinic's zone."""
    from django.utils import dateformat, timezone

    start = timezone.localtime(booking.start)
    return f"{start:%A} {start.day} {start:%B}", dateformat.time_format(start, "P")


def assert_each_time_is_under_its_day(page):
    """Every time's accessible name starts with the day shown above it."""
    for day in page.locator(".picker-day").all():
        legend = day.locator("legend").inner_text()
        for label in day.locator(".slot-list label").all():
            assert label.inner_text().strip()  # visible time
            name = label.evaluate("l => l.textContent.replace(/\\s+/g, ' ').trim()")
            assert name.startswith(legend + ", "), (legend, name)


@pytest.mark.parametrize(("desktop", "js"), MODES)
def test_change_day_pick_time_and_the_saved_booking_is_what_was_pressed(
    make_page, live_server, screenshot, desktop, js
):
    page = make_page(desktop=desktop, java_script_enabled=js)
    page.goto(live_server.url + "/book/" + PHYSIO)
    assert_each_time_is_under_its_day(page)
    expect(page.locator(".picker-zone")).to_have_text("Times are in Eastern Time (Toronto).")
    first_legend = page.locator(".picker-day legend").first.inner_text()
    later_dates(page, js=js)
    expect(page.locator(".picker-day legend").first).not_to_have_text(first_legend)
    assert_each_time_is_under_its_day(page)
    if not js:
        # The reload lands on the times, with the first of the new days on screen.
        expect(page.locator(".picker-day legend").first).to_be_in_viewport()
    day, time_text, value = choose_time_on_day(page, 1, 2)
    expect(page.get_by_role("radio", name=f"{day}, {time_text}", exact=True)).to_be_checked()
    screenshot(page, "picker")
    fill_details(page)
    send(page)
    booking = assert_confirmation(page)
    assert local_day_and_time(booking) == (day, time_text)
    expect(page.locator(".summary-list")).to_contain_text("Eastern Time (Toronto)")
    expect(page.locator(".summary-list")).to_contain_text("60 minutes")
    screenshot(page, "confirmation")
    page.problems.assert_none()


@pytest.mark.parametrize(("desktop", "js"), MODES)
def test_patient_moves_to_a_later_day_and_gets_exactly_that_time(make_page, live_server, desktop, js):
    page = make_page(desktop=desktop, java_script_enabled=js)
    booking, _slot, manage_url = book(page, live_server.url, PHYSIO)
    page.get_by_role("link", name="Choose another time").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose another time")
    expect(page.locator("main")).to_contain_text("Eastern Time (Toronto)")
    later_dates(page, js=js)
    assert_each_time_is_under_its_day(page)
    day, time_text, _value = choose_time_on_day(page, 0, 1)
    page.get_by_role("button", name="Move my appointment").click()
    expect(page).to_have_url(manage_url)
    expect(page.locator(".notice-success")).to_contain_text("Your appointment has been moved.")
    booking.refresh_from_db()
    assert local_day_and_time(booking) == (day, time_text)
    page.problems.assert_none()


@pytest.mark.parametrize("desktop", [False, True], ids=["phone", "desktop"])
def test_with_javascript_only_fitting_choices_are_offered(make_page, live_server, desktop):
    page = make_page(desktop=desktop)
    page.goto(live_server.url + "/book/" + PHYSIO)
    # Mei-Ling Tran gives acupuncture, not physiotherapy: she cannot be picked for it.
    expect(page.locator("#id_practitioner option", has_text="Mei-Ling Tran")).to_be_disabled()
    expect(page.locator("#id_practitioner option", has_text="Daniel Okafor")).to_be_enabled()
    # Her acupuncture first, then physiotherapy: the choice falls back to "any", and the page says why.
    page.locator("#id_service").select_option(label="Acupuncture — first visit")
    page.locator("#id_practitioner").select_option(label="Mei-Ling Tran")
    with page.expect_response(lambda r: "/book/times/" in r.url):
        page.locator("#id_service").select_option(label="Physiotherapy assessment")
    expect(page.locator("#id_practitioner")).to_have_value("")
    expect(page.locator("#practitioner-note")).to_contain_text("Mei-Ling Tran doesn’t offer Physiotherapy assessment")
    expect(page.locator("input[name=slot]").first).to_be_visible()
    # Myotherapy is not given by video: with telehealth chosen it cannot be picked, and the reverse is said.
    page.get_by_role("radio", name="Telehealth (video)").check()
    expect(page.locator("#id_service option", has_text="Myotherapy")).to_be_disabled()
    page.get_by_role("radio", name="In the clinic").check()
    page.locator("#id_service").select_option(label="Myotherapy treatment")
    expect(page.get_by_role("radio", name="Telehealth (video)")).to_be_disabled()
    expect(page.locator("#visit-note")).to_have_text("Myotherapy treatment is offered in the clinic only.")
    # Nowhere does the page point at the hidden "Show available times" button.
    expect(page.locator("#refresh-times")).to_be_hidden()
    expect(page.locator("main")).not_to_contain_text("select “Show available times”")
    page.problems.assert_none()


def test_without_javascript_the_refresh_says_what_does_not_fit(make_page, live_server, screenshot):
    page = make_page(java_script_enabled=False)
    page.goto(live_server.url + "/book/" + PHYSIO)
    page.locator("#id_practitioner").select_option(label="Mei-Ling Tran")
    page.get_by_role("button", name="Show available times").click()
    expect(page).to_have_url(re.compile(r"#times$"))
    problem = page.locator(".notice-problem")
    expect(problem).to_be_in_viewport()
    expect(problem).to_contain_text("Mei-Ling Tran doesn't offer Physiotherapy assessment")
    expect(problem).to_contain_text("Daniel Okafor")
    page.locator("#id_service").select_option(label="Myotherapy treatment")
    page.locator("#id_practitioner").select_option(value="")
    page.get_by_role("radio", name="Telehealth (video)").check()
    page.get_by_role("button", name="Show available times").click()
    expect(page.locator(".notice-problem")).to_contain_text("Myotherapy treatment isn't offered by video")
    screenshot(page, "explained")
    page.get_by_role("radio", name="In the clinic").check()
    page.get_by_role("button", name="Show available times").click()
    expect(page.locator("input[name=slot]").first).to_be_visible()
    assert Booking.objects.count() == 0
    page.problems.assert_none()


def test_focus_stays_on_the_control_used_after_a_keyboard_date_change(make_page, live_server):
    page = make_page()
    page.goto(live_server.url + "/book/" + PHYSIO)
    first = page.locator(".picker-day legend").first.inner_text()
    page.locator("#picker-later").focus()
    with page.expect_response(lambda r: "/book/times/" in r.url):
        page.keyboard.press("Enter")
    expect(page.locator(".picker-day legend").first).not_to_have_text(first)
    expect(page.locator("#picker-later")).to_be_focused()
    with page.expect_response(lambda r: "/book/times/" in r.url):
        page.keyboard.press("Space")
    expect(page.locator("#picker-later")).to_be_focused()
    page.locator("#picker-earlier").focus()
    with page.expect_response(lambda r: "/book/times/" in r.url):
        page.keyboard.press("Enter")
    expect(page.locator("#picker-earlier")).to_be_focused()
    # Changing a choice with the keyboard keeps focus on that choice while the times update.
    page.locator("#id_practitioner").focus()
    with page.expect_response(lambda r: "/book/times/" in r.url):
        page.keyboard.press("ArrowDown")
    expect(page.locator("#id_practitioner")).to_be_focused()
    page.problems.assert_none()


@pytest.mark.parametrize("desktop", [False, True], ids=["phone", "desktop"])
def test_telehealth_from_another_time_zone_shows_both_zones(make_page, live_server, screenshot, desktop):
    page = make_page(desktop=desktop, timezone_id="Europe/London")
    page.goto(live_server.url + "/book/?visit=telehealth")
    expect(page.locator(".picker-zone")).to_contain_text("Times are in Eastern Time (Toronto).")
    expect(page.locator("[data-local-zone-note]")).to_contain_text("Europe/London")
    label = page.locator(".slot-list label").first
    clinic_time = label.locator("input").get_attribute("value")
    # 9 a.m. in Toronto is 2 p.m. in London (in winter): both are on the button.
    local = page.evaluate(
        "v => new Date(Date.UTC(+v.slice(0,4), +v.slice(4,6)-1, +v.slice(6,8), +v.slice(9,11), +v.slice(11,13)))"
        ".toLocaleTimeString(undefined, {hour: 'numeric', minute: '2-digit', timeZone: 'Europe/London'})",
        clinic_time,
    )
    expect(label).to_contain_text(local)
    screenshot(page, "picker")
    choose_time(page)
    fill_details(page)
    send(page)
    booking = assert_confirmation(page)
    assert booking.visit_type == VisitType.TELEHEALTH
    when = page.locator(".summary-list")
    expect(when).to_contain_text("Eastern Time (Toronto)")
    expect(when).to_contain_text("your time, Europe/London")
    expect(page.get_by_role("heading", name="How the video visit works")).to_be_visible()
    screenshot(page, "confirmation")
    page.problems.assert_none()


def test_same_zone_shows_one_time_only(make_page, live_server):
    page = make_page(timezone_id="America/Toronto")
    page.goto(live_server.url + "/book/?visit=telehealth")
    expect(page.locator("[data-local-zone-note]")).to_be_hidden()
    expect(page.locator(".slot-list .local-time").first).to_have_text("")
    page.problems.assert_none()


def test_booking_page_offers_a_calendar_file(make_page, live_server):
    page = make_page()
    _booking, _slot, _url = book(page, live_server.url, PHYSIO)
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar (.ics file)").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert "BEGIN:VEVENT" in text and "TZID=America/Toronto" in text
    expect(page.locator("main")).to_contain_text("reply by the end of")
    expect(page.get_by_role("link", name="Open in a map")).to_be_visible()
