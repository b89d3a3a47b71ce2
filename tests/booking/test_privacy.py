"""Patient data stays out of logs, error reports, cache entries, URLs and object names.

(Who may see bookings in admin, and the access log, are tested in tests/booking/admin/test_permissions.py.)
"""

import logging
import pickle
import sys

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.core import signing
from django.core.cache import caches
from django.core.signals import got_request_exception
from django.test import Client, override_settings
from django.urls import reverse
from django.views.debug import ExceptionReporter

from booking import workflow
from booking.models import Booking, BookingEvent
from booking.tokens import SALT
from tests.factories import form_data, free_starts, make_clinic, make_practitioner, make_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]

NAME, EMAIL, PHONE, REASON = "Quincy Zebrafish", "quincy.zebra@example.com", "(416) 555-0177", "Left calf spasms"
SECRETS = [NAME, "Zebrafish", EMAIL, "quincy.zebra", "555-0177", "5550177", REASON, "calf spasms"]
IP = "203.0.113.77"


@pytest.fixture
def clinic():
    profile, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    return {"profile": profile, "location": location, "service": service}


def patient_form(clinic, **overrides):
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    data = form_data(clinic["service"], start, clinic["location"], name=NAME, email=EMAIL, phone=PHONE, reason=REASON)
    data.update(overrides)
    return data


def assert_clean(text, where):
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), f"{secret!r} found in {where}"


def test_logs_never_carry_patient_details(client, clinic, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.request", "django.db.backends", "booking", "clinic", "axes"):
        caplog.set_level(logging.DEBUG, logger=name)
    response = client.post("/book/", patient_form(clinic), REMOTE_ADDR=IP)
    assert response.status_code == 302
    client.get(response["Location"])
    booking = Booking.objects.get()
    # A mail failure logs too: it must name the email's kind, not its recipient.
    with override_settings(EMAIL_BACKEND="tests.mail_backends.FailingBackend"):
        workflow.change_status(booking, "cancelled", by=workflow.PATIENT)
    # An invalid resubmission (errors shown back to the patient) logs nothing about them either.
    client.post("/book/", patient_form(clinic, email="not-an-email", slot=""), REMOTE_ADDR=IP)
    assert caplog.records, "expected some log records (the mail failure at least)"
    for record in caplog.records:
        assert_clean(record.getMessage(), f"log record {record.name}")
        assert_clean(repr(record.args), f"log args {record.name}")
    assert IP not in caplog.text


def test_error_reports_hide_the_patients_post_data(clinic, monkeypatch, caplog):
    def boom(**kwargs):
        raise RuntimeError("unexpected failure while saving")

    monkeypatch.setattr(workflow, "request_booking", boom)
    captured = {}

    def receiver(sender, request, **kwargs):
        captured["request"] = request
        captured["exc_info"] = sys.exc_info()

    got_request_exception.connect(receiver)
    try:
        client = Client(raise_request_exception=False)
        response = client.post("/book/", patient_form(clinic), REMOTE_ADDR=IP)
    finally:
        got_request_exception.disconnect(receiver)
    assert response.status_code == 500
    assert "(416) 555-0100" in response.content.decode()  # the branded 500 page with the clinic's phone
    request = captured["request"]
    reporter = ExceptionReporter(request, *captured["exc_info"], is_email=True)
    # The text report is what AdminEmailHandler mails to ADMINS.
    text = reporter.get_traceback_text()
    assert "unexpected failure while saving" in text
    assert_clean(text, "the emailed error report")
    post = reporter.filter.get_post_parameters(request)
    for field in ("name", "email", "phone", "reason"):
        assert post[field] == "********************", field
    assert post["service"] == str(clinic["service"].pk)  # the rest stays useful for debugging
    for record in caplog.records:
        assert_clean(record.getMessage(), "the error log")


def cache_dump():
    """Every key and (unpickled) value in the local-memory test cache."""
    store = caches["default"]._cache
    return {key: pickle.loads(value) for key, value in store.items()}  # noqa: S301  (our own test cache)


def test_cache_entries_and_rate_limit_keys_hold_no_patient_data_or_address(client, clinic):
    assert client.post("/book/", patient_form(clinic), REMOTE_ADDR=IP).status_code == 302
    client.post("/book/", patient_form(clinic, website="spam"), REMOTE_ADDR=IP)  # a bot hit is counted too
    dump = cache_dump()
    rate_keys = [key for key in dump if ":rl:" in key]
    assert rate_keys, dump.keys()
    for key, value in dump.items():
        assert IP not in key and "203.0.113" not in key
        assert_clean(key, "a cache key")
        assert_clean(repr(value), f"cache value {key}")
        assert IP not in repr(value)


def test_urls_and_session_hold_no_patient_data(client, clinic):
    response = client.post("/book/", patient_form(clinic), REMOTE_ADDR=IP)
    location = response["Location"]
    assert_clean(location, "the manage link")
    token = location.rstrip("/").rsplit("/", 1)[-1]
    booking = Booking.objects.get()
    assert signing.loads(token, salt=SALT) == {"r": booking.reference}  # only the reference, signed
    session = client.session
    assert_clean(repr(dict(session.items())), "the session")
    for email in booking.emails.all():
        assert REASON not in email.body and PHONE not in email.body and "+14165550177" not in email.body


def test_object_names_and_admin_history_carry_no_name(clinic, admin_client):
    client = Client()
    client.post("/book/", patient_form(clinic), REMOTE_ADDR=IP)
    booking = Booking.objects.get()
    assert str(booking) == booking.reference
    assert_clean(str(booking), "str(booking)")
    for event in BookingEvent.objects.filter(booking=booking):
        assert_clean(str(event), "str(event)")
    for email in booking.emails.all():
        assert_clean(str(email), "str(outbox email)")
    # Admin's change history names the object by str(booking).
    url = reverse("admin:booking_booking_change", args=[booking.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    model_admin = admin.site._registry[Booking]
    model_admin.log_change(page.wsgi_request, booking, [{"changed": {"fields": ["Staff notes"]}}])
    entry = LogEntry.objects.get()
    assert entry.object_repr == booking.reference
    assert_clean(entry.object_repr + str(entry.change_message), "admin history")


def test_access_log_never_shows_a_private_booking_link():
    from clinic.log_redaction import redact

    line = '127.0.0.1 "GET /book/manage/eyJyIjoiSzdNLTRRWCJ9:1xUv:abc/cancel/ HTTP/1.1" 200'
    assert redact(line) == '127.0.0.1 "GET /book/manage/[token]/cancel/ HTTP/1.1" 200'
    assert redact("/articles/") == "/articles/"


def test_django_log_records_hide_booking_tokens():
    import logging

    from clinic.log_redaction import RedactTokensFilter

    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/book/manage/abc.def:ghi/",), None
    )
    RedactTokensFilter().filter(record)
    assert record.getMessage() == "Not Found: /book/manage/[token]/"
