"""A new patient books a first acupuncture visit, receives the form link once it is confirmed, fills it in on a
phone and signs; the practitioner reads it at the visit. Both pages pass axe."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from playwright.sync_api import expect

from booking import workflow
from booking.models import BookingStatus
from booking.notifications import outbox
from tests.e2e.e2e_steps import book
from tests.e2e.test_e2e_accessibility import BLOCKING, axe_violations, describe

pytestmark = pytest.mark.e2e

PASSWORD = "a-long-test-password-42"


def assert_accessible(page, axe_source, what):
    blocking = [v for v in axe_violations(page, axe_source) if v["impact"] in BLOCKING]
    assert not blocking, f"axe on {what}:\n{describe(blocking)}"


def test_a_new_patient_fills_the_form_on_a_phone_and_the_practitioner_reads_it(
    make_page, live_server, axe_source, django_user_model
):
    phone = make_page(bypass_csp=True)  # axe is injected as a script: CSP bypassed for this context only
    booking, _slot, _url = book(phone, live_server.url, "?service=acupuncture-first-visit")
    desk = django_user_model.objects.create_user("desk", "desk@clinic.example", PASSWORD, is_staff=True)
    desk.groups.add(Group.objects.get(name="Front desk"))
    workflow.change_status(booking, BookingStatus.CONFIRMED, by=desk)
    outbox.drain()
    (email,) = [m for m in mail.outbox if "form is ready" in m.subject]
    link = re.search(r"http\S+/forms/\S+/", email.body).group(0)

    phone.goto(link)
    phone.get_by_label("Your date of birth").fill("1984-03-27")
    phone.get_by_role("button", name="Open my form").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Acupuncture")
    assert_accessible(phone, axe_source, "the intake form (phone)")
    phone.locator("#id_full_name").fill("Alex Morgan")
    phone.locator("#id_phone").fill("416 555 0123")
    phone.locator("#id_emergency_name").fill("Sam Morgan")
    phone.locator("#id_emergency_phone").fill("416 555 0124")
    phone.get_by_label("What would you like help with?").fill("Calf cramps at night")
    phone.get_by_label("Health conditions, past injuries or operations").fill("None")
    phone.get_by_label("Medicines and supplements you take").fill("Warfarin 5 mg")
    for name, value in [("anticoagulants", "yes"), ("bleeding", "no"), ("implant", "no"), ("fainting", "no")]:
        phone.locator(f"input[name={name}][value={value}]").check()
    phone.locator("input[name=pregnancy][value=no]").check()
    phone.get_by_label("What would you like to be able to do again, or do more easily?").fill("Sleep through")
    phone.get_by_label("I have read the consent to treatment above and I agree to it.").check()
    phone.get_by_label("I agree to the clinic collecting").check()
    phone.get_by_label("Type your full name to sign").fill("Alex Morgan")
    phone.get_by_role("button", name="Sign and send").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your health history and consent")
    expect(phone.locator("body")).to_contain_text("Warfarin 5 mg")
    assert_accessible(phone, axe_source, "the patient's copy (phone)")

    practitioner = booking.practitioner
    user = django_user_model.objects.create_user("prac", "prac@clinic.example", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Practitioner"))
    practitioner.user = user
    practitioner.save()
    desktop = make_page(bypass_csp=True, viewport={"width": 1280, "height": 800})
    desktop.goto(live_server.url + "/admin/")
    desktop.get_by_label("Username").fill("prac")
    desktop.get_by_label("Password").fill(PASSWORD)
    desktop.get_by_role("button", name="Log in").click()
    desktop.goto(live_server.url + booking.intake_forms.get().staff_url())
    flags = desktop.locator(".intake-flags")
    expect(flags).to_contain_text("screening: anticoagulants")
    expect(desktop.locator("body")).to_contain_text("Warfarin 5 mg")
    assert_accessible(desktop, axe_source, "the practitioner's page")
