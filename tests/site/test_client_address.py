"""Who the client is: X-Forwarded-For counts only from our own proxies (TRUSTED_PROXIES), for the booking
rate limit and the admin login lockout alike; malformed values are ignored, never a 500."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import RequestFactory, override_settings
from django.urls import reverse

from booking.models import Booking
from clinic.client_address import client_address
from tests.factories import form_data, free_starts, make_clinic, make_practitioner, make_service

PROXY = "10.0.0.2"
BEHIND_PROXY = {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}


def address(remote, forwarded=None, proxies=(PROXY,)):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **extra)
    with override_settings(TRUSTED_PROXIES=list(proxies)):
        return client_address(request)


def test_forwarded_header_counts_only_from_a_trusted_proxy():
    # From anyone else the header is whatever the client chose to send.
    assert address("198.51.100.9", "203.0.113.8") == "198.51.100.9"
    assert address("198.51.100.9", "203.0.113.8", proxies=()) == "198.51.100.9"
    # From our proxy: the entry it appended (the last), not what the client wrote before it.
    assert address(PROXY, "1.2.3.4, 203.0.113.8") == "203.0.113.8"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right():
    proxies = ("10.0.0.0/8",)
    assert address("10.0.0.2", "6.6.6.6, 203.0.113.8, 10.1.2.3", proxies=proxies) == "203.0.113.8"
    assert address("10.0.0.2", "10.9.9.9", proxies=proxies) == "10.9.9.9"  # only proxies: the farthest one


@pytest.mark.parametrize(
    "forwarded",
    ["not-an-ip", "", " , ", "999.1.1.1", "203.0.113.8\x00", "x" * 5000, "1.2.3.4, not-an-ip", "a" * 70],
)
def test_malformed_forwarded_values_are_ignored(forwarded):
    # The walk stops at the first unusable entry: the answer is the proxy that handed it over.
    assert address(PROXY, forwarded) == PROXY


def test_addresses_are_normalised():
    assert address(PROXY, "[2001:db8::1]:443") == "2001:db8::1"
    assert address(PROXY, "203.0.113.8:51234") == "203.0.113.8"
    assert address("::ffff:198.51.100.9") == "198.51.100.9"
    assert address("not an address") == ""


def test_forwarded_proto_counts_only_from_a_trusted_proxy(client, db):
    with override_settings(SECURE_SSL_REDIRECT=True, TRUSTED_PROXIES=[PROXY], **BEHIND_PROXY):
        spoofed = client.get("/privacy/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="198.51.100.9")
        assert spoofed.status_code == 301 and spoofed["Location"].startswith("https://")
        proxied = client.get("/privacy/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR=PROXY)
        assert proxied.status_code == 200


# --- The booking rate limit ----------------------------------------------------------------------


@pytest.fixture
def bookable(db):
    _profile, location = make_clinic()
    service = make_service([make_practitioner(location=location)])
    return service, location


@override_settings(BOOKING_RATE_LIMIT=2, BOOKING_MAX_OPEN_PER_EMAIL=20, TRUSTED_PROXIES=[PROXY], **BEHIND_PROXY)
def test_rotating_forwarded_for_does_not_lift_the_rate_limit(client, bookable, django_capture_on_commit_callbacks):
    service, location = bookable
    starts = free_starts(service, location=location)
    for i in range(5):
        client.post(
            reverse("booking:request"),
            form_data(service, starts[i], location, email=f"p{i}@example.com"),
            REMOTE_ADDR="198.51.100.9",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )
    assert Booking.objects.count() == 2


@override_settings(BOOKING_RATE_LIMIT=2, BOOKING_MAX_OPEN_PER_EMAIL=20, TRUSTED_PROXIES=[PROXY], **BEHIND_PROXY)
def test_clients_behind_our_proxy_are_counted_apart(client, bookable):
    service, location = bookable
    starts = free_starts(service, location=location)
    for i in range(4):
        client.post(
            reverse("booking:request"),
            form_data(service, starts[i], location, email=f"p{i}@example.com"),
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )
    assert Booking.objects.count() == 4


# --- The admin login lockout -----------------------------------------------------------------------


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("desk", "desk@clinic.example", "correct horse battery")


def login(client, password, **meta):
    data = {"username": "desk", "password": password, "next": reverse("admin:index")}
    return client.post(reverse("admin:login"), data, **meta)


@override_settings(TRUSTED_PROXIES=[PROXY], **BEHIND_PROXY)
def test_rotating_forwarded_for_does_not_lift_the_login_lockout(client, staff):
    for i in range(12):
        login(client, "wrong", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    response = login(client, "correct horse battery", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert response.status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302  # not signed in


@override_settings(TRUSTED_PROXIES=[PROXY], **BEHIND_PROXY)
def test_malformed_forwarded_for_on_a_failed_login_is_no_500(client, staff):
    response = login(client, "wrong", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="not-an-ip")
    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == PROXY
    response = login(client, "wrong", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert response.status_code == 200
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY, "198.51.100.9"}
