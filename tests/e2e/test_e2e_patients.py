"""The receptionist books callers: an existing patient from their page, over an existing visit (refused), the
same form sent twice (one booking, one email); the add page, the patient page and a booking's page pass axe."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from booking.models import Booking, BookingStatus, OutboxEmail, Patient, Service, VisitType
from booking.scheduling.availability import slots_for
from tests.e2e.test_e2e_accessibility import BLOCKING, axe_violations, describe

PASSWORD = "a-long-test-password-42"


@pytest.fixture
def desk(make_page, live_server, django_user_model):
    django_user_model.objects.create_superuser("desk", "desk@clinic.example", PASSWORD)
    page = make_page(desktop=True, bypass_csp=True)
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Username").fill("desk")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text("desk")
    return page


@pytest.fixture
def alex():
    return Patient.objects.create(name="Alex Rivera", email="alex@example.com", phone="+14165550134")


def physio():
    return Service.objects.get(slug="physiotherapy-assessment")


def fill_visit(page, service, practitioner):
    page.get_by_label("Service").select_option(str(service.pk))
    page.get_by_label("In the clinic").check()
    page.get_by_label("Practitioner").select_option(str(practitioner.pk))


def first_free_start(service, practitioner):
    free = slots_for(service, VisitType.IN_CLINIC, None, practitioner, staff=True)
    return sorted(t for t, ids in free.items() if practitioner.pk in ids and t > timezone.now() + timedelta(days=1))[0]


def test_book_an_existing_patient_from_their_page(desk, live_server, alex, screenshot):
    page = desk
    page.goto(f"{live_server.url}/admin/booking/patient/{alex.pk}/change/")
    page.get_by_role("link", name="Book for this patient").click()
    expect(page.locator(".phone-booking__patient")).to_contain_text("Alex Rivera")
    service = physio()
    person = service.practitioners.filter(is_active=True).first()
    fill_visit(page, service, person)
    page.get_by_role("button", name="Show free times").click()
    page.locator("#times input[name=slot]").first.check()
    page.get_by_role("button", name="Book and confirm").click()
    expect(page.locator(".messagelist")).to_contain_text("confirmed")
    booking = Booking.objects.get(patient=alex)
    assert booking.status == BookingStatus.CONFIRMED and booking.practitioner == person
    page.goto(f"{live_server.url}/admin/booking/patient/{alex.pk}/change/")
    expect(page.locator(".patient-visits").first).to_contain_text(booking.reference)
    screenshot(page, "patient-page")


def test_booking_over_an_existing_visit_is_refused(desk, live_server, alex):
    page = desk
    service = physio()
    person = service.practitioners.filter(is_active=True).first()
    start = first_free_start(service, person)
    page.goto(f"{live_server.url}/admin/booking/booking/add/?practitioner={person.pk}&start={start.isoformat()}")
    page.get_by_label("Service").select_option(str(service.pk))
    page.get_by_label("Full name").fill("Casey Caller")
    page.get_by_label("Phone", exact=True).fill("416 555 0150")
    expect(page.locator("#times input[name=slot]:checked")).to_have_count(1)
    # A colleague books that time first.
    other = Patient.objects.create(name="Other Caller", phone="+14165550199")
    Booking.objects.create(
        patient=other,
        service=service,
        visit_type=VisitType.IN_CLINIC,
        location=person.working_hours.exclude(location=None).first().location,
        practitioner=person,
        start=start,
        end=start + service.duration,
        blocked_until=start + service.duration + service.buffer,
        status=BookingStatus.CONFIRMED,
        patient_name="Other Caller",
        phone="+14165550199",
        contact_preference="call",
        patient_type="new",
        consent_at=timezone.now(),
        privacy_version="1",
    )
    page.get_by_role("button", name="Book and confirm").click()
    expect(page.locator(".field-slot, #id_slot_error").first).to_contain_text("not free")
    assert Booking.objects.count() == 1 and not Patient.objects.filter(name="Casey Caller").exists()


def test_the_same_add_form_sent_twice_books_once_and_emails_once(desk, live_server, alex):
    page = desk
    service = physio()
    person = service.practitioners.filter(is_active=True).first()
    start = first_free_start(service, person)
    query = f"patient={alex.pk}&practitioner={person.pk}&start={start.isoformat()}"
    page.goto(f"{live_server.url}/admin/booking/booking/add/?{query}")
    page.get_by_label("Service").select_option(str(service.pk))
    # What the form will send, kept to send again later as a stale tab would.
    sent = page.evaluate(
        "() => Object.fromEntries(new FormData(document.getElementById('phone-booking-form')).entries())"
    )
    page.get_by_role("button", name="Book and confirm").dblclick()  # a double click
    expect(page).to_have_url(re.compile(r"/admin/booking/booking/\d+/change/$"))
    assert Booking.objects.filter(patient=alex).count() == 1
    booking = Booking.objects.get(patient=alex)
    again = page.request.post(page.url.replace(f"{booking.pk}/change/", "add/"), form=sent)
    assert again.ok and again.url.endswith(f"/admin/booking/booking/{booking.pk}/change/")
    assert "already sent" in again.text() and booking.reference in again.text()
    assert Booking.objects.filter(patient=alex).count() == 1
    assert OutboxEmail.objects.filter(kind="confirmation", recipient="alex@example.com").count() == 1


@pytest.mark.parametrize("which", ["add", "patient", "booking"])
def test_staff_screens_pass_axe(desk, live_server, alex, axe_source, which):
    page = desk
    service = physio()
    person = service.practitioners.filter(is_active=True).first()
    if which == "add":
        page.goto(f"{live_server.url}/admin/booking/booking/add/?practitioner={person.pk}")
        page.get_by_role("button", name="Show free times").click()
    elif which == "patient":
        page.goto(f"{live_server.url}/admin/booking/patient/{alex.pk}/change/")
    else:
        start = first_free_start(service, person)
        booking = Booking.objects.create(
            patient=alex,
            service=service,
            visit_type=VisitType.IN_CLINIC,
            location=person.working_hours.exclude(location=None).first().location,
            practitioner=person,
            start=start,
            end=start + service.duration,
            blocked_until=start + service.duration,
            patient_name=alex.name,
            email=alex.email,
            phone=alex.phone,
            contact_preference="call",
            patient_type="new",
            consent_at=timezone.now(),
            privacy_version="1",
        )
        page.goto(f"{live_server.url}/admin/booking/booking/{booking.pk}/change/")
        for name in ("Confirm", "Cancel booking"):
            box = page.get_by_role("button", name=name, exact=True).bounding_box()
            assert box["height"] >= 24, (name, box)
        assert page.locator("fieldset").first.locator("h2").inner_text().strip()
    violations = axe_violations(page, axe_source)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)


def test_patient_page_with_a_history_fits_1280(desk, live_server):
    """A returning patient's page as the front desk opens it: contact details, counts in words, upcoming and
    past visits with their status. Saves admin-patient-1280.png (the README's screenshot)."""
    from test_e2e_front_desk import no_sideways_scroll, screenshot_dir

    from booking.models import BookingEvent
    from clinic.models import Location, Practitioner
    from tests.factories import make_booking

    alex = Patient.objects.create(
        name="Alex Rivera",
        email="alex.rivera@example.com",
        phone="+14165550134",
        contact_preference="text",
        notes="Prefers early mornings. Parks at the back entrance.",
    )
    location = Location.objects.first()
    service = physio()
    follow_up = Service.objects.get(slug="physiotherapy-follow-up")
    daniel = Practitioner.objects.get(slug="daniel-okafor")
    today = timezone.localdate()

    def visit(days, hour, status, what=service):
        day = today + timedelta(days=days)
        while day.weekday() >= 5:  # visits on weekdays, as the clinic works
            day += timedelta(days=1)
        start = datetime.combine(day, time(0), tzinfo=timezone.get_default_timezone())
        return make_booking(
            daniel,
            what,
            start + timedelta(hours=hour),
            location=location,
            patient=alex,
            status=status,
            patient_name=alex.name,
            email=alex.email,
            phone=alex.phone,
        )

    visit(-63, 9, BookingStatus.COMPLETED)
    visit(-49, 10, BookingStatus.COMPLETED, follow_up)
    visit(-35, 9, BookingStatus.NO_SHOW, follow_up)
    cancelled = visit(-21, 11, BookingStatus.CANCELLED, follow_up)
    BookingEvent.objects.create(
        booking=cancelled,
        at=cancelled.start - timedelta(minutes=30),  # inside the late-cancellation window
        actor="patient",
        from_status=BookingStatus.CONFIRMED,
        to_status=BookingStatus.CANCELLED,
    )
    visit(-7, 9, BookingStatus.COMPLETED, follow_up)
    visit(3, 10, BookingStatus.CONFIRMED, follow_up)
    page = desk
    page.goto(f"{live_server.url}/admin/booking/patient/{alex.pk}/change/")
    counts = page.locator(".patient-counts")
    expect(counts).to_contain_text("Visits attended")
    assert counts.locator("dd").all_inner_texts() == ["3", "1", "1", "1"]
    expect(page.locator(".patient-visits").first).to_contain_text("Confirmed")
    expect(page.locator(".patient-visits").nth(1)).to_contain_text("No-show")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir() / "admin-patient-1280.png"))
