"""The patient's appointment request at /book/: what they see, what is saved, what is emailed."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from booking.forms import encode_slot
from booking.models import Booking, BookingEvent, BookingPolicy, BookingStatus, OutboxEmail, VisitType
from booking.notifications.outbox import drain
from booking.tokens import read_token
from tests.factories import form_data, free_starts, make_clinic, make_practitioner, make_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit"), pytest.mark.clock]


@pytest.fixture
def clinic():
    profile, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    return {"profile": profile, "location": location, "pat": pat, "service": service}


def post(client, data, ip="203.0.113.5"):
    return client.post(reverse("booking:request"), data, REMOTE_ADDR=ip)


def test_form_lists_services_and_free_times(client, clinic):
    html = client.get("/book/").content.decode()
    assert "Choose a service" in html and 'name="slot"' not in html  # no times until a service is chosen
    response = client.get("/book/?service=physio-60")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Physio assessment" in html
    assert html.count('name="slot"') > 0
    assert 'autocomplete="email"' in html and 'autocomplete="tel"' in html and 'autocomplete="name"' in html


def test_prefilled_from_service_and_telehealth_links(client, clinic):
    html = client.get("/book/?service=physio-60&visit=telehealth").content.decode()
    assert re.search(r'value="telehealth"[^>]*checked', html)
    assert re.search(rf'<option value="{clinic["service"].pk}"[^>]*selected', html)


def test_valid_request_is_saved_and_shown_back(client, clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    response = post(client, form_data(clinic["service"], start, clinic["location"]))
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.status == BookingStatus.REQUESTED
    assert re.fullmatch(r"[A-Z2-9]{3}-[A-Z2-9]{3}", booking.reference)
    assert booking.phone == "+14165550123" and booking.phone_as_typed == "(416) 555-0123"
    assert booking.start == start and booking.end == start + timedelta(minutes=60)
    assert booking.consent_at is not None and booking.privacy_version == clinic["profile"].privacy_version
    assert BookingEvent.objects.filter(booking=booking, actor="patient", to_status="requested").exists()
    page = client.get(response["Location"]).content.decode()
    assert booking.reference in page and "we have your request" in page
    assert "(416) 555-0100" in page  # the clinic's phone on the confirmation


def test_emails_go_to_patient_and_clinic_without_health_details(client, clinic, deliver):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    post(client, form_data(clinic["service"], start, clinic["location"]))
    booking = Booking.objects.get()
    assert mail.outbox == [] and OutboxEmail.objects.filter(status="pending").count() == 2  # the worker sends
    deliver()
    assert {m.to[0] for m in mail.outbox} == {"alex@example.com", "desk@clinic.example"}
    ack = next(m for m in mail.outbox if m.to == ["alex@example.com"])
    assert booking.reference in ack.subject and "/book/manage/" in ack.body
    for message in mail.outbox:
        assert "Calf cramps" not in message.body and "Calf cramps" not in message.subject
    assert OutboxEmail.objects.filter(status="sent").count() == 2


def test_instant_confirmation_sends_calendar_file(client, clinic, deliver):
    BookingPolicy.objects.create(confirm_instantly=True)
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    post(client, form_data(clinic["service"], start, clinic["location"]))
    assert Booking.objects.get().status == BookingStatus.CONFIRMED
    confirmation = next(m for m in deliver() if m.to == ["alex@example.com"])
    name, content, mimetype = confirmation.attachments[0]
    assert name.endswith(".ics") and "BEGIN:VEVENT" in content and "TZID=America/Toronto" in content


def test_every_wrong_field_is_explained_and_nothing_saved(client, clinic):
    data = form_data(
        clinic["service"],
        free_starts(clinic["service"], location=clinic["location"])[0],
        clinic["location"],
        name="",
        email="not-an-email",
        phone="12",
        consent="",
    )
    data["slot"] = ""
    html = post(client, data).content.decode()
    for message in [
        "Please enter your name.",
        "This isn&#x27;t a valid email address",
        "This isn&#x27;t a valid phone number",
        "Please choose a time.",
        "Please confirm you agree to the privacy notice",
    ]:
        assert message in html, message
    assert 'id="error-summary"' in html and 'href="#id_name"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="not-an-email"' in html  # what the patient typed is kept
    assert Booking.objects.count() == 0


def test_reason_over_500_characters_is_refused(client, clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    html = post(client, form_data(clinic["service"], start, clinic["location"], reason="x" * 501)).content.decode()
    assert "500 characters or fewer" in html
    assert Booking.objects.count() == 0


def test_service_not_offered_by_telehealth_is_explained(client, clinic):
    clinic["service"].telehealth = False
    clinic["service"].save()
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    html = post(
        client, form_data(clinic["service"], start, clinic["location"], visit_type="telehealth")
    ).content.decode()
    assert "isn&#x27;t offered by video. Choose “In the clinic”" in html
    assert Booking.objects.count() == 0


def test_taken_time_gets_friendly_message_and_fresh_times(client, clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    post(client, form_data(clinic["service"], start, clinic["location"]))
    response = post(
        client, form_data(clinic["service"], start, clinic["location"], email="other@example.com"), ip="203.0.113.9"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "That time was just taken — please choose another." in html
    assert 'name="slot"' in html
    assert Booking.objects.count() == 1


def test_double_submit_saves_once(client, clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    data = form_data(clinic["service"], start, clinic["location"])
    first = post(client, data)
    second = post(client, data)
    assert Booking.objects.count() == 1
    # Both land on the same booking (the signed links differ only in their timestamp).
    assert read_token(first["Location"].split("/")[-2]) == read_token(second["Location"].split("/")[-2])


def test_honeypot_and_instant_submit_are_refused(client, clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    html = post(client, form_data(clinic["service"], start, clinic["location"], website="http://spam")).content.decode()
    assert "couldn&#x27;t accept this request" in html
    html = post(client, form_data(clinic["service"], start, clinic["location"], started="forged")).content.decode()
    assert "couldn&#x27;t accept this request" in html
    assert Booking.objects.count() == 0


@override_settings(BOOKING_MIN_SECONDS_TO_SUBMIT=5)
def test_form_sent_faster_than_a_person_types_is_refused(client, clinic):
    from django.core import signing

    from booking.forms import STARTED_SALT

    start = free_starts(clinic["service"], location=clinic["location"])[0]
    import time

    just_now = signing.dumps(time.time(), salt=STARTED_SALT)
    post(client, form_data(clinic["service"], start, clinic["location"], started=just_now))
    assert Booking.objects.count() == 0


@override_settings(BOOKING_RATE_LIMIT=2, BOOKING_MAX_OPEN_PER_EMAIL=10)
def test_rate_limit_per_client_address(client, clinic):
    starts = free_starts(clinic["service"], location=clinic["location"])
    for i in range(2):
        assert post(client, form_data(clinic["service"], starts[i], clinic["location"])).status_code == 302
    html = post(client, form_data(clinic["service"], starts[2], clinic["location"])).content.decode()
    assert "several requests from your connection" in html
    assert Booking.objects.count() == 2
    # Another address is not affected.
    assert (
        post(client, form_data(clinic["service"], starts[2], clinic["location"]), ip="198.51.100.7").status_code == 302
    )


@override_settings(BOOKING_MAX_OPEN_PER_EMAIL=2)
def test_cap_on_open_requests_per_email(client, clinic):
    starts = free_starts(clinic["service"], location=clinic["location"])
    for i in range(2):
        post(client, form_data(clinic["service"], starts[i], clinic["location"]), ip=f"198.51.100.{i}")
    html = post(
        client,
        form_data(clinic["service"], starts[2], clinic["location"], email="ALEX+again@example.com"),
        ip="198.51.100.99",
    ).content.decode()
    # Case and "+tag" fold to one mailbox; the message gives no count (it would tell a stranger too much).
    assert "already has open requests" in html and " 2 " not in html.split("already has open requests")[0][-40:]
    assert Booking.objects.count() == 2


def test_any_practitioner_books_whoever_is_free(client, clinic):
    sam = make_practitioner("Sam Roy", slug="sam", location=clinic["location"])
    clinic["service"].practitioners.add(sam)
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    post(client, form_data(clinic["service"], start, clinic["location"]), ip="198.51.100.1")
    post(client, form_data(clinic["service"], start, clinic["location"], email="b@example.com"), ip="198.51.100.2")
    third = post(
        client, form_data(clinic["service"], start, clinic["location"], email="c@example.com"), ip="198.51.100.3"
    )
    assert {b.practitioner.slug for b in Booking.objects.all()} == {"pat", "sam"}
    assert "That time was just taken" in third.content.decode()


def test_telehealth_request_uses_telehealth_hours(client, clinic):
    start = free_starts(clinic["service"], VisitType.TELEHEALTH)[0]
    response = post(client, form_data(clinic["service"], start, None, visit_type="telehealth"))
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.visit_type == "telehealth" and booking.location is None
    assert booking.start.astimezone(__import__("zoneinfo").ZoneInfo("America/Toronto")).hour >= 18


def test_show_times_without_javascript_keeps_typed_details(client, clinic):
    data = form_data(
        clinic["service"],
        free_starts(clinic["service"], location=clinic["location"])[0],
        clinic["location"],
        action="refresh",
        name="Kim Park",
    )
    data["slot"] = ""
    html = post(client, data).content.decode()
    assert 'value="Kim Park"' in html
    assert "error-summary" not in html
    assert 'name="slot"' in html
    assert Booking.objects.count() == 0


def test_times_endpoint_returns_the_picker(client, clinic):
    response = client.get(
        "/book/times/", {"service": clinic["service"].pk, "visit_type": "in_clinic", "location": clinic["location"].pk}
    )
    assert response.status_code == 200
    assert 'name="slot"' in response.content.decode()
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@override_settings(EMAIL_BACKEND="tests.mail_backends.FailingBackend")
def test_mail_failure_never_loses_the_booking(client, clinic):
    from django.core.management import call_command

    start = free_starts(clinic["service"], location=clinic["location"])[0]
    response = post(client, form_data(clinic["service"], start, clinic["location"]))
    assert response.status_code == 302
    assert Booking.objects.count() == 1
    assert drain() == (0, 2)
    failed = OutboxEmail.objects.filter(status="failed")
    assert failed.count() == 2
    assert "SMTPServerDisconnected" in failed.first().last_error
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        call_command("resend_failed_emails", stdout=StringIO())
    assert OutboxEmail.objects.filter(status="sent").count() == 2
    assert len(mail.outbox) == 2


def _hidden(html, name):
    return re.search(rf'name="{name}" value="([^"]+)"', html).group(1)


def test_reused_form_page_gives_each_visitor_their_own_tokens(client, clinic):
    first = client.get("/book/?service=physio-60").content.decode()
    second = Client().get("/book/?service=physio-60").content.decode()
    for name in ("csrfmiddlewaretoken", "started", "request_key"):
        assert _hidden(first, name) != _hidden(second, name)
    assert "__bookingform" not in second


def test_form_from_the_cache_books_and_then_stops_offering_the_time(clinic):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/book/?service=physio-60")  # warm the cache
    html = browser.get("/book/?service=physio-60").content.decode()
    slot = re.search(r'name="slot" id="slot-(\w+)" value="(\w+)"', html).group(2)
    data = {
        "csrfmiddlewaretoken": _hidden(html, "csrfmiddlewaretoken"),
        "started": _hidden(html, "started"),
        "request_key": _hidden(html, "request_key"),
        "service": clinic["service"].pk,
        "visit_type": "in_clinic",
        "location": clinic["location"].pk,
        "slot": slot,
        "name": "Alex Morgan",
        "email": "alex@example.com",
        "phone": "416 555 0123",
        "contact_preference": "call",
        "patient_type": "new",
        "consent": "on",
        "action": "submit",
    }
    assert browser.post("/book/", data, REMOTE_ADDR="203.0.113.5").status_code == 302
    assert f'value="{slot}"' not in browser.get("/book/?service=physio-60").content.decode()


def test_times_fragment_is_reused_but_never_offers_a_taken_time(client, clinic):
    params = {"service": clinic["service"].pk, "visit_type": "in_clinic", "location": clinic["location"].pk}
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    value = encode_slot(start)
    assert f'value="{value}"' in client.get("/book/times/", params).content.decode()
    post(client, form_data(clinic["service"], start, clinic["location"]))
    assert f'value="{value}"' not in client.get("/book/times/", params).content.decode()
