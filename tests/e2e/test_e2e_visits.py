"""A returning patient on a phone: sign in with the emailed code, see the family's visits, book again."""

import re
import sys
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from booking.models import Booking, BookingStatus, Service
from booking.notifications.outbox import drain
from tests.e2e.e2e_steps import choose_time
from tests.e2e.test_e2e_accessibility import BLOCKING, axe_violations, describe
from tests.factories import make_booking

pytestmark = pytest.mark.django_db(transaction=True)

FAMILY = "rivera.family@example.com"


@pytest.fixture
def family(content):
    service = Service.objects.active().filter(in_clinic=True, practitioners__isnull=False).first()
    practitioner = service.practitioners.filter(is_active=True).first()
    location = practitioner.working_hours.filter(location__isnull=False).first().location
    common = {"location": location, "email": FAMILY, "phone": "+14165550123", "phone_as_typed": "416 555 0123"}
    past = make_booking(
        practitioner, service, timezone.now() - timedelta(days=14), patient_name="Alex Rivera",
        status=BookingStatus.COMPLETED, **common,
    )  # fmt: skip
    make_booking(
        practitioner, service, timezone.now() - timedelta(days=30), patient_name="Sam Rivera",
        status=BookingStatus.COMPLETED, **common,
    )  # fmt: skip
    return {"past": past, "service": service, "practitioner": practitioner}


def read_code():
    """The email worker sends what is due; the code is read from the message, as the patient would."""
    drain()
    message = [m for m in mail.outbox if FAMILY in m.to][-1]
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def test_a_returning_patient_signs_in_and_books_again_in_under_a_minute(phone_page, live_server, family, capsys):
    page = phone_page
    page.goto(live_server.url + "/")
    started = time.monotonic()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Visits", exact=True).click()
    page.get_by_label("Your email address").fill(FAMILY)
    page.get_by_role("button", name="Email me a code").click()
    expect(page.get_by_text("If we have visits under this address, we've emailed you a code.")).to_be_visible()
    page.get_by_label("6-digit code").fill(read_code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your visits")
    expect(page.get_by_role("heading", name="Alex Rivera")).to_be_visible()
    expect(page.get_by_role("heading", name="Sam Rivera")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Book again\W+Alex Rivera")).click()
    expect(page.locator("#id_name")).to_have_value("Alex Rivera")
    expect(page.locator("#id_email")).to_have_value(FAMILY)
    expect(page.locator("#id_service option:checked")).to_have_text(family["service"].name)
    expect(page.locator("#id_practitioner option:checked")).to_have_text(family["practitioner"].name)
    expect(page.get_by_role("radio", name="Returning patient")).to_be_checked()
    expect(page.get_by_role("radio", name="Alex Rivera")).to_be_checked()  # who the visit is for: that record
    choose_time(page)
    page.get_by_role("checkbox", name=re.compile("I have read the privacy notice")).check()
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you — we have your request")
    elapsed = time.monotonic() - started
    with capsys.disabled():
        sys.stderr.write(f"\n[visits] sign in, see the family, book again on a phone: {elapsed:.1f} s\n")
    assert elapsed < 60
    booking = Booking.objects.order_by("-created").first()
    assert booking.patient_name == "Alex Rivera" and booking.email == FAMILY
    assert booking.patient == family["past"].patient  # attached to the chosen record, no matching
    assert booking.service == family["service"] and booking.practitioner == family["practitioner"]
    page.problems.assert_none()


def test_the_visits_pages_have_no_serious_accessibility_violations(make_page, live_server, family, axe_source):
    page = make_page(bypass_csp=True)
    checked = []

    def check(label):
        violations = axe_violations(page, axe_source)
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        assert not blocking, f"axe on {label}:\n{describe(blocking)}"
        checked.append(label)

    page.goto(live_server.url + "/visits/")
    check("sign in")
    page.get_by_label("Your email address").fill(FAMILY)
    page.get_by_role("button", name="Email me a code").click()
    check("code")
    page.get_by_label("6-digit code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    check("code with an error")
    page.get_by_label("6-digit code").fill(read_code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your visits")
    check("visits")
    assert len(checked) == 4
