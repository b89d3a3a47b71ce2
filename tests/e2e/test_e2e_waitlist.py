"""The waitlist as people click through it: a patient on a phone joins it from /book/, and the front desk sees
the entry and opens "Offer a free time" for it; every page passes axe."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from booking.waitlist.models import WaitlistEntry
from tests.e2e.test_e2e_accessibility import BLOCKING, axe_violations, describe

PASSWORD = "a-long-test-password-42"


def assert_accessible(page, axe_source):
    blocking = [v for v in axe_violations(page, axe_source) if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)


def test_a_patient_joins_the_waitlist_and_the_front_desk_offers_a_time(
    make_page, live_server, axe_source, django_user_model, screenshot
):
    page = make_page(bypass_csp=True)  # a phone; axe is injected as an inline script
    page.goto(f"{live_server.url}/book/waitlist/?service=physiotherapy-assessment")
    assert_accessible(page, axe_source)
    page.locator("input[name=days]").first.check()
    page.locator("input[name=parts]").first.check()
    page.locator("input[name=until]").fill((timezone.localdate() + timedelta(days=20)).isoformat())
    page.locator("input[name=name]").fill("Robin Tanaka")
    page.locator("input[name=email]").fill("robin@example.com")
    page.locator("input[name=phone]").fill("416 555 0177")
    page.locator("input[name=patient_type]").first.check()
    page.locator("input[name=consent]").check()
    page.locator("form button[type=submit]").last.click()
    expect(page).to_have_url(f"{live_server.url}/book/waitlist/thanks/")
    assert_accessible(page, axe_source)
    screenshot(page, "waitlist-joined")
    entry = WaitlistEntry.objects.get()
    assert (entry.name, entry.service.slug) == ("Robin Tanaka", "physiotherapy-assessment")

    django_user_model.objects.create_superuser("desk", "desk@clinic.example", PASSWORD)
    desk = make_page(desktop=True, bypass_csp=True)
    desk.goto(live_server.url + "/admin/")
    desk.get_by_label("Username").fill("desk")
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Log in").click()
    desk.goto(f"{live_server.url}/admin/waitlist/waitlistentry/")
    expect(desk.locator("#result_list")).to_contain_text("Robin Tanaka")
    assert_accessible(desk, axe_source)
    desk.goto(f"{live_server.url}/admin/waitlist/waitlistentry/{entry.pk}/offer/")
    expect(desk.locator("#content")).to_contain_text("Robin Tanaka")
    assert_accessible(desk, axe_source)
    screenshot(desk, "waitlist-offer")
