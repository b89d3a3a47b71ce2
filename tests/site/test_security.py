"""Admin login lockout (django-axes), oversized requests, and the admin's configurable address."""

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from clinic.client_address import client_address

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("desk", "desk@clinic.example", PASSWORD)


def login(client, password, ip="198.51.100.7", username="desk"):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=ip,
    )


def logged_in(client):
    return client.get(reverse("admin:index")).status_code == 200


def test_axes_settings():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=30)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"  # shared by all instances
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_five_failed_logins_lock_out_username_and_address(client, staff):
    for _ in range(4):
        assert login(client, "wrong password").status_code == 200
    locked = login(client, "wrong password")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Sign-in paused for your security" in html and "try again in 30 minutes" in html
    assert locked["Content-Security-Policy"] and locked["X-Frame-Options"] == "DENY"

    # The right password no longer works from that address...
    assert login(client, PASSWORD).status_code == 429
    assert not logged_in(client)
    # ...and the state is in the database, where every server instance reads it.
    attempt = AccessAttempt.objects.get(username="desk", ip_address="198.51.100.7")
    assert attempt.failures_since_start >= 5
    assert "correct horse" not in attempt.post_data and "wrong password" not in attempt.post_data

    # The same staff member from another address is not locked out.
    other = Client()
    assert login(other, PASSWORD, ip="198.51.100.99").status_code == 302
    assert logged_in(other)


def test_lockout_ends_after_the_cool_off(client, staff):
    for _ in range(5):
        login(client, "wrong password")
    assert login(client, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=31))
    assert login(client, PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_success_resets_the_count(client, staff):
    for _ in range(4):
        login(client, "wrong password")
    assert login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client, "wrong password").status_code == 200


def test_lockout_applies_to_unknown_usernames_too(client, db):
    for _ in range(5):
        response = login(client, "guess", username="admin")
    assert response.status_code == 429


def test_client_address_uses_the_load_balancer_header_only_from_a_trusted_proxy():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.8")
    with override_settings(TRUSTED_PROXIES=[]):
        assert client_address(request) == "10.0.0.2"  # a client cannot spoof its address without a proxy
    with override_settings(TRUSTED_PROXIES=["10.0.0.0/24"]):
        assert client_address(request) == "203.0.113.8"  # the entry our load balancer appended


# --- Oversized requests -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_oversized_body_is_refused_with_400(client):
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    response = client.post("/book/", {"reason": big, "name": "A"})
    assert response.status_code == 400
    raw = client.generic("POST", "/book/", big.encode(), content_type="application/x-www-form-urlencoded")
    assert raw.status_code == 400


@pytest.mark.django_db
def test_too_many_fields_is_refused_with_400(client):
    data = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5)}
    assert client.post("/book/", data).status_code == 400


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_http(port, request_bytes):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_bytes)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode("latin-1")


def status_of(raw):
    return int(raw.split(" ", 2)[1]) if raw.startswith("HTTP/") else None


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    """One gunicorn worker with the project's gunicorn.conf.py, serving /robots.txt (no database needed)."""
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "gunicorn-limits-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESSLOG": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                raw = raw_http(port, b"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if status_of(raw) == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start: " + log.read_text())
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_gunicorn_refuses_oversized_request_line_and_headers(gunicorn_server):
    port = gunicorn_server
    ok = raw_http(port, b"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status_of(ok) == 200 and "Disallow: /book/" in ok

    long_line = b"GET /robots.txt?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    assert status_of(raw_http(port, long_line)) == 414  # URI Too Long

    big_header = (
        b"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 9000 + b"\r\nConnection: close\r\n\r\n"
    )
    assert status_of(raw_http(port, big_header)) == 431  # Request Header Fields Too Large

    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(60))
    many_headers = b"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"Connection: close\r\n\r\n"
    assert status_of(raw_http(port, many_headers)) == 431  # Request Header Fields Too Large

    # Still serving after all that.
    again = raw_http(port, b"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert status_of(again) == 200
