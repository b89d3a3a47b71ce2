"""A patient's booking in a real browser, on a phone-sized screen unless a test says otherwise."""

import re

from e2e_steps import (
    PATIENT,
    assert_confirmation,
    book,
    choose_time,
    fill_details,
    follow_book_link,
    home_to_article,
    later_dates,
    send,
)
from playwright.sync_api import expect

from booking.forms import encode_slot
from booking.models import Booking, BookingStatus, VisitType


def test_phone_home_to_article_to_booking_confirmation(phone_page, live_server, screenshot):
    page = phone_page
    article = home_to_article(page, live_server.url)
    follow_book_link(page, article)
    # The times came with the page; later dates load in place (fetch from /book/times/).
    later_dates(page)
    slot = choose_time(page, 1)
    fill_details(page)
    send(page)
    booking = assert_confirmation(page)
    assert encode_slot(booking.start) == slot
    assert booking.service.treatment_id == article.treatment_id
    assert booking.visit_type == VisitType.IN_CLINIC and booking.status == BookingStatus.REQUESTED
    assert booking.email == PATIENT["email"] and booking.phone == "+14165550123"
    expect(page.locator("body")).to_contain_text(booking.reference)
    screenshot(page, "confirmation")
    page.problems.assert_none()


def test_mistakes_are_explained_next_to_fields_and_in_a_focused_summary(phone_page, live_server, screenshot):
    page = phone_page
    page.goto(live_server.url + "/book/?treatment=acupuncture")
    # No time chosen, no name, a mistyped email and phone, no consent.
    page.locator("#id_email").fill("alex@example")
    page.locator("#id_phone").fill("555")
    send(page)

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expected = {
        "name": "Please enter your name.",
        "email": "This isn't a valid email address. It should look like name@example.com.",
        "phone": "This isn't a valid phone number. Please include the area code.",
        "consent": "Please confirm you agree to the privacy notice so we can store your request.",
    }
    for field, message in expected.items():
        expect(summary).to_contain_text(message)
        field_input = page.locator(f"#id_{field}")
        expect(field_input).to_have_attribute("aria-invalid", "true")
        # The message sits next to the field and is announced with it.
        described_by = field_input.get_attribute("aria-describedby") or ""
        texts = [page.locator(f"[id='{i}']").inner_text() for i in described_by.split()]
        assert any(message in text for text in texts), (field, described_by, texts)
    expect(summary).to_contain_text("Please choose a time.")
    expect(page.locator("#slot-error")).to_have_text("Please choose a time.")
    # What the patient typed is kept, and each summary item links to its field.
    expect(page.locator("#id_email")).to_have_value("alex@example")
    summary.get_by_role("link", name=expected["email"]).click()
    expect(page.locator("#id_email")).to_be_in_viewport()
    assert Booking.objects.count() == 0
    screenshot(page, "errors")
    page.problems.assert_none()


def test_telehealth_request_from_the_site_wide_banner(phone_page, live_server, screenshot):
    page = phone_page
    page.goto(live_server.url + "/team/")
    banner_link = page.get_by_role("region", name="Announcement").get_by_role("link", name="Request a video visit")
    banner_link.click()
    expect(page).to_have_url(live_server.url + "/book/?visit=telehealth")
    expect(page.get_by_role("radio", name="Telehealth (video)")).to_be_checked()
    expect(page.locator("#location-field")).to_be_hidden()
    choose_time(page)
    fill_details(page)
    send(page)
    booking = assert_confirmation(page)
    assert booking.visit_type == VisitType.TELEHEALTH and booking.location_id is None
    expect(page.locator(".summary-list")).to_contain_text("Telehealth (video)")
    expect(page.locator("main")).to_contain_text("the confirmation includes your private video link")
    screenshot(page, "telehealth")
    page.problems.assert_none()


def test_patient_cancels_through_their_link_and_the_time_is_free_again(phone_page, live_server, screenshot):
    page = phone_page
    query = "?service=acupuncture-first-visit"  # one practitioner, so a booked time leaves the list
    booking, slot, manage_url = book(page, live_server.url, query)
    day = _local_date(booking)

    def offered(slot_value):
        page.goto(f"{live_server.url}/book/{query}")
        while not page.locator(f"input[name=slot][value='{slot_value}']").count():
            if page.locator(".picker-day legend", has_text=day).count() or not page.locator("#picker-later").count():
                return False
            later_dates(page)
        return True

    assert not offered(slot), f"the booked time {slot} on {day} is still offered"

    page.goto(manage_url)
    page.get_by_role("link", name="Cancel this appointment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your appointment?")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED, "opening the cancel link must not cancel"
    page.get_by_role("button", name="Yes, cancel this appointment").click()
    expect(page).to_have_url(manage_url)
    expect(page.get_by_role("status")).to_contain_text("Your appointment is cancelled")
    expect(page.locator(".status")).to_have_text("Cancelled")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    screenshot(page, "cancelled")

    assert offered(slot), f"the cancelled time {slot} is not offered again"
    page.problems.assert_none()


def _local_date(booking):
    from django.utils import timezone

    start = timezone.localtime(booking.start)
    return f"{start:%A} {start.day} {start:%B}"


def test_phone_booking_with_javascript_disabled(make_page, live_server, screenshot):
    page = make_page(java_script_enabled=False)
    article = home_to_article(page, live_server.url)
    follow_book_link(page, article)
    # Without the script the server-side buttons are there and do the work.
    expect(page.get_by_role("button", name="Show available times")).to_be_visible()
    later_dates(page, js=False)
    slot = choose_time(page, 1)
    fill_details(page)
    send(page)
    booking = assert_confirmation(page)
    assert encode_slot(booking.start) == slot
    screenshot(page, "confirmation")
    page.problems.assert_none()


def test_staff_confirm_a_telehealth_request_with_a_video_link(make_page, live_server, screenshot, django_user_model):
    from clinic.models import Practitioner

    Practitioner.objects.update(video_room_url="")  # so the front desk must give this visit's link
    patient = make_page()
    booking, _slot, manage_url = book(patient, live_server.url, "?visit=telehealth")
    assert booking.visit_type == VisitType.TELEHEALTH
    django_user_model.objects.create_superuser("desk", "desk@clinic.example", "a-long-test-password-42")

    staff = make_page(desktop=True)
    staff.goto(live_server.url + "/admin/")
    staff.get_by_label("Username").fill("desk")
    staff.get_by_label("Password").fill("a-long-test-password-42")
    staff.get_by_role("button", name="Log in").click()
    expect(staff.locator("#user-tools")).to_contain_text("desk")
    staff.goto(f"{live_server.url}/admin/booking/booking/?q={booking.reference}")
    staff.get_by_role("link", name=re.compile(re.escape(booking.reference))).first.click()
    staff.get_by_role("link", name="Confirm (add video link)").click()
    video = "https://video.example/room/e2e-123"
    staff.get_by_label("Video link").fill(video)
    staff.get_by_role("button", name="Confirm and email the patient").click()
    expect(staff.locator(".messagelist")).to_contain_text(booking.reference)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED and booking.telehealth_url == video
    screenshot(staff, "admin")

    patient.goto(manage_url)
    expect(patient.locator(".status")).to_have_text("Confirmed")
    expect(patient.get_by_role("link", name="Join the video visit")).to_have_attribute("href", video)
    screenshot(patient, "patient")
    patient.problems.assert_none()


def focus_is_visible(page):
    """The focused element draws a visible focus indicator (an outline or a box shadow)."""
    info = page.evaluate(
        """() => {
          const el = document.activeElement;
          const s = getComputedStyle(el);
          const r = el.getBoundingClientRect();
          return {tag: el.tagName, id: el.id, text: (el.innerText || el.value || '').slice(0, 40),
                  href: el.getAttribute('href'), outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
                  shadow: s.boxShadow, visible: r.width > 0 && r.height > 0};
        }"""
    )
    assert info["tag"] != "BODY", "focus fell back to the page"
    assert info["visible"], f"focused element is not visible: {info}"
    assert (info["outline"] != "none" and info["width"] > 0) or info["shadow"] != "none", f"no focus indicator: {info}"
    return info


def tab_to(page, predicate, *, limit=120, backwards=False):
    """Press Tab (or Shift+Tab) until the focused element matches, checking the focus indicator each time."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        info = focus_is_visible(page)
        if predicate(info):
            return info
    raise AssertionError("never reached the element by keyboard")


def test_booking_with_the_keyboard_alone(phone_page, live_server, screenshot):
    from e2e_steps import article_on_home_with_treatment

    page = phone_page
    page.goto(live_server.url + "/")
    href, article = article_on_home_with_treatment(page)
    tab_to(page, lambda i: i["href"] == href)
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + href)
    tab_to(page, lambda i: i["text"] == f"Book {article.treatment.name}")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/book/\?treatment="))

    # Go past the times and come back with Shift+Tab; arrows move between times, Space chooses one.
    tab_to(page, lambda i: i["id"] == "id_name")
    tab_to(page, lambda i: i["id"].startswith("slot-"), backwards=True)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    focus_is_visible(page)
    chosen = page.locator("input[name=slot]:checked")
    expect(chosen).to_have_count(1)
    slot = chosen.get_attribute("value")

    tab_to(page, lambda i: i["id"] == "id_name")
    page.keyboard.type(PATIENT["name"])
    page.keyboard.press("Tab")
    focus_is_visible(page)
    page.keyboard.type(PATIENT["email"])
    page.keyboard.press("Tab")
    focus_is_visible(page)
    page.keyboard.type(PATIENT["phone"])
    tab_to(page, lambda i: i["id"].startswith("id_contact_preference"))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="Email", exact=True)).to_be_checked()
    tab_to(page, lambda i: i["id"].startswith("id_patient_type"))
    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="New patient")).to_be_checked()
    tab_to(page, lambda i: i["id"] == "id_consent")
    page.keyboard.press("Space")
    expect(page.locator("#id_consent")).to_be_checked()
    tab_to(page, lambda i: i["text"] == "Send my request")
    page.keyboard.press("Enter")

    booking = assert_confirmation(page)
    assert encode_slot(booking.start) == slot
    screenshot(page, "confirmation")
    page.problems.assert_none()
