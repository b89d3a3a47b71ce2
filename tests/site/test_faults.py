"""The site through faults: database down, mail server down or refusing, Redis down; and /healthz.

Each fault is real or as close as a test can get: the database cursor raises like a lost connection,
the mail server is a real SMTP server (aiosmtpd) on a loopback port, and the cache is django-redis
pointed at a port where nothing listens.
"""

import json
import socket
from io import StringIO
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.db import InterfaceError, OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, override_settings

from booking.models import Booking, OutboxEmail, OutboxStatus
from booking.notifications.outbox import drain
from booking.views import over_rate_limit
from clinic.facts import get_facts
from tests.factories import (
    ArticleFactory,
    ConditionFactory,
    TreatmentFactory,
    form_data,
    free_starts,
    make_clinic,
    make_practitioner,
    make_service,
)
from tests.mail_backends import local_smtp_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]

CLINIC_PHONE = "(416) 555-0100"


@pytest.fixture
def clinic():
    profile, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    treatment = TreatmentFactory(slug="acupuncture")
    ArticleFactory(slug="night-cramps", treatment=treatment, conditions=[ConditionFactory(slug="muscle-cramps")])
    return {"profile": profile, "location": location, "service": service}


def closed_port():
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def book(client, clinic, n=0, ip="203.0.113.5", **overrides):
    starts = free_starts(clinic["service"], location=clinic["location"])
    data = form_data(clinic["service"], starts[n], clinic["location"], **overrides)
    return client.post("/book/", data, REMOTE_ADDR=ip)


PUBLIC_PAGES = [
    "/",
    "/treatments/",
    "/treatments/acupuncture/",
    "/conditions/muscle-cramps/",
    "/articles/",
    "/articles/?q=cramps",
    "/articles/night-cramps/",
    "/team/",
    "/contact/",
    "/privacy/",
    "/book/",
    "/book/?service=physio-60",
]


# --- Database down ------------------------------------------------------------------------------------


def database_down(exc=OperationalError):
    def refuse(self, *args, **kwargs):
        raise exc('could not connect to server: Connection refused. Is the server running on "db.internal"?')

    return mock.patch.object(BaseDatabaseWrapper, "cursor", refuse)


@pytest.mark.parametrize("exc", [OperationalError, InterfaceError])
def test_database_down_gives_branded_503_with_the_clinic_phone(client, clinic, exc):
    get_facts()  # the facts are warm in the cache, as they are on a live site
    start = free_starts(clinic["service"], location=clinic["location"])[0]
    data = form_data(clinic["service"], start, clinic["location"])
    with database_down(exc):
        for url in ("/contact/", "/privacy/"):
            # Pages made only of the clinic's cached facts keep working.
            response = client.get(url)
            assert response.status_code == 200 and CLINIC_PHONE in response.content.decode(), url
        for url in [u for u in PUBLIC_PAGES if u not in ("/contact/", "/privacy/")]:
            response = client.get(url)
            html = response.content.decode()
            assert response.status_code == 503, url
            assert response["Retry-After"] == "60"
            assert "Back in a few minutes" in html and CLINIC_PHONE in html, url
            assert "Traceback" not in html and "OperationalError" not in html and "InterfaceError" not in html
            assert "unsafe-inline" not in response["Content-Security-Policy"]
            assert response["X-Content-Type-Options"] == "nosniff"
        posted = client.post("/book/", data)
        assert posted.status_code == 503 and CLINIC_PHONE in posted.content.decode()
        assert client.get("/book/times/?service=1").status_code == 503
    assert Booking.objects.count() == 0


def test_database_down_with_a_cold_cache_still_gives_the_branded_page(client, clinic):
    with database_down():
        response = client.get("/")
    assert response.status_code == 503
    assert "Back in a few minutes" in response.content.decode()


def test_healthz_reports_database_down(client, clinic):
    with database_down():
        response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"database": "error", "cache": "ok", "status": "error"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_healthy(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"database": "ok", "cache": "ok", "status": "ok"}


# --- Mail server down or refusing ---------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that can be told to refuse mail."""

    def __init__(self):
        self.accepting = True
        self.received = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not self.accepting:
            return "421 4.3.2 Service not available, closing transmission channel"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    port = closed_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with local_smtp_settings(port):
            yield mailbox
    finally:
        controller.stop()


def resend():
    out = StringIO()
    call_command("resend_failed_emails", stdout=out)
    return out.getvalue()


def test_mail_server_that_accepts_then_refuses(client, clinic, smtp_server):
    # Accepting: the worker sends the acknowledgement and the staff notice.
    assert book(client, clinic, 0).status_code == 302
    assert len(smtp_server.received) == 0  # the web request never talks to the mail server
    assert drain() == (2, 0)
    assert OutboxEmail.objects.filter(status=OutboxStatus.SENT).count() == 2
    assert len(smtp_server.received) == 2

    # Refusing: the booking is still saved, its emails are marked failed with the server's answer.
    smtp_server.accepting = False
    response = book(client, clinic, 1, email="second@example.com")
    assert response.status_code == 302
    second = Booking.objects.get(email="second@example.com")
    assert drain() == (0, 2)
    failed = OutboxEmail.objects.filter(booking=second)
    assert failed.count() == 2
    for email in failed:
        assert email.status == OutboxStatus.FAILED and email.attempts == 1
        assert "SMTPSenderRefused" in email.last_error and "421" in email.last_error
    assert len(smtp_server.received) == 2
    assert client.get(response["Location"]).status_code == 200  # the patient's page works regardless

    # Still refusing: the resend command tries once more (fresh attempts), keeps them failed.
    assert "sent 0, still failing 2" in resend()
    assert set(failed.values_list("attempts", flat=True)) == {1}

    # Accepting again: the resend command sends each failed email exactly once.
    smtp_server.accepting = True
    assert "sent 2, still failing 0" in resend()
    assert OutboxEmail.objects.filter(status=OutboxStatus.SENT).count() == 4
    assert len(smtp_server.received) == 4
    assert sorted(to[0] for to, _ in smtp_server.received[2:]) == ["desk@clinic.example", "second@example.com"]
    assert "sent 0, still failing 0" in resend()
    assert len(smtp_server.received) == 4


def test_mail_server_down_keeps_the_booking_and_resends_later(client, clinic):
    mailbox = Mailbox()
    port = closed_port()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=5,
    ):
        assert book(client, clinic).status_code == 302  # nothing listening on the mail port
        assert drain() == (0, 2)
        booking = Booking.objects.get()
        emails = OutboxEmail.objects.filter(booking=booking)
        assert {e.status for e in emails} == {OutboxStatus.FAILED}
        assert all("ConnectionRefusedError" in e.last_error for e in emails)
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            assert "sent 2, still failing 0" in resend()
        finally:
            controller.stop()
    assert len(mailbox.received) == 2
    assert {e.status for e in emails.all()} == {OutboxStatus.SENT}


# --- Redis down ---------------------------------------------------------------------------------------


@pytest.fixture
def redis_down():
    location = f"redis://127.0.0.1:{closed_port()}/0"
    caches = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    with override_settings(CACHES=caches):
        yield location


def test_redis_down_pages_still_serve(clinic, redis_down):
    client = Client()
    for url in PUBLIC_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
    assert CLINIC_PHONE in client.get("/contact/").content.decode()  # facts come straight from the database


def test_redis_down_bookings_are_saved_and_the_rate_limit_fails_open(clinic, redis_down):
    client = Client()
    with override_settings(BOOKING_RATE_LIMIT=2):
        for n in range(4):  # twice the limit, all from one address
            response = book(client, clinic, n, email=f"p{n}@example.com")
            assert response.status_code == 302, n
            assert client.get(response["Location"]).status_code == 200
        assert Booking.objects.count() == 4
        request = mock.Mock(META={"REMOTE_ADDR": "203.0.113.5"})
        assert not over_rate_limit(request)  # fails open


def test_redis_down_healthz_stays_up_and_says_degraded(clinic, redis_down, caplog):
    # The site serves without its cache, so the load balancer must keep this instance.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"database": "ok", "cache": "error", "status": "degraded"}
    assert "shared cache unavailable" in caplog.text


def test_rate_limit_holds_while_the_cache_is_up(client, clinic):
    with override_settings(BOOKING_RATE_LIMIT=2):
        assert book(client, clinic, 0, email="a@example.com").status_code == 302
        assert book(client, clinic, 1, email="b@example.com").status_code == 302
        refused = book(client, clinic, 2, email="c@example.com")
    assert refused.status_code == 200 and "Please call us to book more" in refused.content.decode()
    assert Booking.objects.count() == 2
