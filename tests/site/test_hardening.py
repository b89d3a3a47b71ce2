"""Closed holes: input that could be turned on patients, cache flooding, the small leaks, and the mail
server production needs."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.checks import run_checks
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking, BookingStatus
from tests.factories import (
    ArticleFactory,
    TreatmentFactory,
    form_data,
    free_starts,
    make_booking,
    make_clinic,
    make_practitioner,
    make_service,
    make_staff,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bookable():
    _profile, location = make_clinic()
    pat = make_practitioner("Pat Lee", location=location)
    service = make_service([pat])
    return service, location, pat


def book(client, data, ip="203.0.113.5"):
    return client.post(reverse("booking:request"), data, REMOTE_ADDR=ip)


# --- Names that could be turned on patients ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Your card was declined - pay now at https://pay.example/x", "without a web address"),
        ("Visit www.cheap-pills.example today", "without a web address"),
        ("Call me at clinic-refunds.com", "without a web address"),
        ("Alex\u202eredlof", "invisible or control characters"),  # right-to-left override
        ("Alex\u2066Morgan\u2069", "invisible or control characters"),  # isolates
        ("Alex\x07Morgan", "invisible or control characters"),  # a control character
        ("Alex\u200bMorgan", "invisible or control characters"),  # zero-width space
    ],
)
def test_names_refuse_links_and_hidden_characters(client, bookable, name, message):
    service, location, _pat = bookable
    start = free_starts(service, location=location)[0]
    response = book(client, form_data(service, start, location, name=name))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Booking.objects.exists()


@pytest.mark.parametrize("name", ["José O'Brien-Smith", "李小龙", "J. R. Tolkien", "Nasrin\u200cZadeh", "Anne\tMarie"])
def test_real_names_are_accepted(client, bookable, name):
    service, location, _pat = bookable
    start = free_starts(service, location=location)[0]
    assert book(client, form_data(service, start, location, name=name)).status_code == 302
    assert Booking.objects.get().patient_name == " ".join(name.split())


# --- The time-to-submit token is single-use -----------------------------------------------------------------


@override_settings(BOOKING_MAX_OPEN_PER_EMAIL=10)
def test_a_booking_page_makes_one_request_only(client, bookable):
    service, location, _pat = bookable
    starts = free_starts(service, location=location)
    first = form_data(service, starts[0], location)
    assert book(client, first).status_code == 302
    # The same page's token again, for another time and patient (a script replaying it): refused.
    replay = form_data(service, starts[1], location, email="other@example.com", started=first["started"])
    response = book(client, replay, ip="198.51.100.20")
    assert "This form has already been sent" in response.content.decode()
    assert Booking.objects.count() == 1
    # The exact same request again (a double click) still leads to the booking it made.
    again = book(client, first)
    assert again.status_code == 302 and Booking.objects.count() == 1


def test_a_request_that_was_not_saved_can_be_sent_again(client, bookable):
    service, location, pat = bookable
    starts = free_starts(service, location=location)
    make_booking(pat, service, starts[0], location=location)  # someone else took the time meanwhile
    data = form_data(service, starts[0], location)
    assert book(client, data).status_code == 200
    retry = {**data, "slot": form_data(service, starts[1], location)["slot"]}
    assert book(client, retry).status_code == 302
    assert Booking.objects.count() == 2


# --- Patient links expire -------------------------------------------------------------------------------------


@override_settings(BOOKING_LINK_DAYS_AFTER=30)
@pytest.mark.parametrize(("days_ago", "status"), [(29, 200), (31, 410)])
def test_patient_links_stop_working_some_days_after_the_appointment(client, bookable, days_ago, status):
    service, location, pat = bookable
    start = timezone.now() - timedelta(days=days_ago, hours=1)
    booking = make_booking(pat, service, start, location=location, status=BookingStatus.COMPLETED)
    response = client.get(booking.patient_url())
    assert response.status_code == status
    for suffix in ("cancel/", "move/", "calendar.ics"):
        assert client.get(booking.patient_url() + suffix).status_code in ({200, 302, 404} if status == 200 else {410})
    if status == 410:
        html = response.content.decode()
        assert "This link has expired" in html and "30 days after the appointment" in html
        assert booking.patient_name not in html and booking.reference not in html


# --- Bounded cache ---------------------------------------------------------------------------------------------


def cache_size():
    return len(getattr(cache, "_cache", {}))


def test_random_article_filters_and_booking_values_are_stored_nowhere(client, bookable):
    service, _location, _pat = bookable
    treatment = TreatmentFactory(slug="acupuncture")
    ArticleFactory(treatment=treatment)
    assert "public" in client.get("/articles/?treatment=acupuncture")["Cache-Control"]
    client.get("/book/")  # the page's cached header and footer
    client.get("/articles/")  # the unfiltered list's cards: what an unknown filter shows
    before = cache_size()
    urls = [f"/articles/?treatment=random-{i}" for i in range(10)]
    urls += [
        "/articles/?q=zzqx-nothing",
        "/articles/?treatment=acupuncture&treatment=acupuncture",
        "/articles/?page=01",
    ]
    urls += [f"/book/?service=random-{i}" for i in range(10)] + [f"/book/?practitioner=nobody-{i}" for i in range(5)]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] and "public" not in response["Cache-Control"], url
    assert cache_size() == before, list(cache._cache)  # nothing in the shared cache either


# --- Small leaks -----------------------------------------------------------------------------------------------


def test_robots_txt_does_not_name_the_admin(client):
    body = client.get("/robots.txt").content.decode()
    assert settings.ADMIN_URL.strip("/") not in body
    assert "Disallow: /book/" in body
    assert client.get(reverse("admin:login"))["X-Robots-Tag"] == "noindex, nofollow"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_a_rejected_next_goes_to_the_admin_index(client, next_url):
    make_staff("desk", superuser=True)
    response = client.post(
        reverse("admin:login") + f"?next={next_url}",
        {"username": "desk", "password": "a-long-test-password", "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


# --- No patient data in logs: production needs a mail server ------------------------------------------------


def mail_errors():
    return [m.id for m in run_checks(include_deployment_checks=True) if m.id.startswith("clinic.E00")]


@override_settings(DEBUG=False, EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")
def test_deploy_check_refuses_the_console_unless_chosen():
    with override_settings(EMAIL_BACKEND_CHOSEN=False):
        assert mail_errors() == ["clinic.E001"]
    with override_settings(EMAIL_BACKEND_CHOSEN=True):
        assert mail_errors() == []
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST=""):
        assert mail_errors() == ["clinic.E002"]
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="smtp.x"):
        assert mail_errors() == []


@pytest.mark.parametrize(
    ("extra", "fails"),
    [
        ({}, True),
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, False),
        ({"EMAIL_HOST": "smtp.clinic.example"}, False),
    ],
)
def test_check_deploy_fails_without_a_mail_server(extra, fails):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DJANGO_SETTINGS", "DATABASE_URL"))}
    env.update(DEBUG="0", SECRET_KEY="k" * 20 + "-production-like-secret-0123456789abcdef", ALLOWED_HOSTS="x.example")
    env.update(HEALTH_DATA_KEYS="Tm90LWEtcmVhbC1rZXktb25seS1mb3ItdGhpcy10ZXM=")  # a valid Fernet key (not secret)
    env.update(extra)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode != 0) == fails, result.stderr[-2000:]
    assert ("clinic.E001" in result.stderr) == fails
