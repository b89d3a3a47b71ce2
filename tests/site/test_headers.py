"""Security headers on every kind of page, and cookies and HSTS under production settings.

What each header is for, and how the Mozilla HTTP Observatory tests pass, is in docs/security.md.
"""

import re

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from booking import workflow
from booking.models import VisitType
from tests.factories import (
    ArticleFactory,
    ArticleFAQFactory,
    ConditionFactory,
    TreatmentFactory,
    TreatmentFAQFactory,
    form_data,
    free_starts,
    make_clinic,
    make_practitioner,
    make_service,
    patient,
)

pytestmark = pytest.mark.django_db

EXPECTED = {
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
PERMISSIONS = ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"]


@pytest.fixture
def site():
    profile, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    treatment = TreatmentFactory(slug="acupuncture")
    TreatmentFAQFactory(treatment=treatment)
    condition = ConditionFactory(slug="muscle-cramps")
    article = ArticleFactory(slug="night-cramps", treatment=treatment, conditions=[condition])
    ArticleFAQFactory(article=article)
    start = free_starts(service, location=location)[0]
    booking = workflow.request_booking(
        service=service,
        visit_type=VisitType.IN_CLINIC,
        location=location,
        practitioner=None,
        start=start,
        patient=patient(),
    )
    return {"profile": profile, "location": location, "service": service, "booking": booking, "pat": pat}


def page_urls(site):
    return {
        "home": "/",
        "article": "/articles/night-cramps/",
        "article list": "/articles/?q=cramps",
        "treatment": "/treatments/acupuncture/",
        "condition": "/conditions/muscle-cramps/",
        "team": "/team/",
        "contact": "/contact/",
        "privacy": "/privacy/",
        "book": "/book/?service=physio-60",
        "manage": site["booking"].patient_url(),
        "404": "/no-such-page/",
        "admin login": reverse("admin:login"),
        "healthz": "/healthz",
    }


def csp_directives(response):
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return header, directives


def assert_security_headers(response, label):
    for name, value in EXPECTED.items():
        assert response.get(name) == value, f"{label}: {name} = {response.get(name)!r}"
    permissions = response.get("Permissions-Policy", "")
    assert permissions == settings.PERMISSIONS_POLICY, label
    for feature in PERMISSIONS:
        assert feature in permissions, f"{label}: {feature}"
    header, directives = csp_directives(response)
    assert "unsafe-inline" not in header and "unsafe-eval" not in header, f"{label}: {header}"
    assert directives["frame-ancestors"] == ["'none'"], label
    assert directives["default-src"] == ["'self'"], label
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"], label
    assert directives["form-action"] == ["'self'"], label
    assert directives["script-src"] == ["'self'"], label
    assert directives["style-src"] == ["'self'"], label


def test_every_page_type_has_the_security_headers(client, site):
    expected_status = {"404": 404}
    for label, url in page_urls(site).items():
        response = client.get(url)
        assert response.status_code == expected_status.get(label, 200), f"{label} {url}: {response.status_code}"
        assert_security_headers(response, label)


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_static_files_have_the_security_headers():
    response = Client().get("/static/css/site.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert_security_headers(response, "static file")


SCRIPT_RE = re.compile(r"<script\b([^>]*)>", re.I)


def test_script_src_is_self_only_and_json_ld_needs_no_nonce(client, site):
    """JSON-LD is a data block: the browser runs no CSP check on it (the HTML standard's "prepare the script
    element" stops before the inline check for a type that is not JavaScript), so it needs no nonce or hash.
    tests/e2e/test_e2e_csp.py shows it in Chromium. Every other script is one of our own files."""
    for label, url in page_urls(site).items():
        if label in ("admin login", "healthz", "404"):
            continue
        response = client.get(url)
        html = response.content.decode()
        assert csp_directives(response)[1]["script-src"] == ["'self'"], label
        assert "nonce" not in response["Content-Security-Policy"] and "nonce=" not in html, label
        for attrs in SCRIPT_RE.findall(html):
            if "src=" in attrs:
                assert re.search(r'src="/static/', attrs), f"{label}: {attrs}"
                continue
            assert attrs.strip() == 'type="application/ld+json"', f"{label}: inline script {attrs}"
        # No inline styles or event handlers that the policy would block.
        assert not re.search(r"<style\b", html, re.I), label
        assert not re.search(r'\sstyle="', html), label
        assert not re.search(r"\son[a-z]+=", html), label
    for url in ("/", "/articles/night-cramps/", "/treatments/acupuncture/", "/contact/"):
        html = client.get(url).content.decode()
        assert re.search(r'<script type="application/ld\+json">', html), url


def test_every_response_gets_the_same_policy(client, site):
    assert client.get("/")["Content-Security-Policy"] == client.get("/contact/")["Content-Security-Policy"]


def test_production_cookie_names_and_flags_are_configured():
    assert settings.SESSION_COOKIE_NAME == "__Host-sessionid" and settings.CSRF_COOKIE_NAME == "__Host-csrftoken"
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax" and settings.CSRF_COOKIE_SAMESITE == "Lax"


def assert_host_cookie(cookie):
    assert cookie.key.startswith("__Host-")
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/" and not cookie["domain"]  # what the __Host- prefix requires


@override_settings(DEBUG=False, SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000)
def test_production_https_redirect_hsts_and_host_cookies(site):
    client = Client()  # created inside the override: SecurityMiddleware reads its settings when it starts
    plain = client.get("/book/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/book/"
    assert client.get("/healthz").status_code == 200  # the load balancer's check stays on plain HTTP

    response = client.get("/book/?service=physio-60", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert_security_headers(response, "book over https")
    assert_host_cookie(response.cookies["__Host-csrftoken"])

    start = free_starts(site["service"], location=site["location"])[0]
    saved = client.post(
        "/book/", form_data(site["service"], start, site["location"], email="c@example.com"), secure=True
    )
    assert saved.status_code == 302
    assert saved["Strict-Transport-Security"].startswith("max-age=31536000")
    # The saved request's answer writes no session (nothing after the commit can fail it): only the
    # short-lived signed thank-you cookie, secure and HttpOnly.
    assert not saved.cookies.get("__Host-sessionid") and "sessionid" not in saved.cookies
    assert "csrftoken" not in saved.cookies
    thanks = saved.cookies["booking_thanks"]
    assert thanks["secure"] and thanks["httponly"] and thanks["samesite"] == "Lax"


def test_admin_url_comes_from_settings():
    assert reverse("admin:index") == "/" + settings.ADMIN_URL
