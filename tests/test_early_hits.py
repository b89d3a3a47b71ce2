"""Page-cache hits answered in front of Django (clinic.pagecache.EarlyHits, the WSGI entry point): the visitor gets
the very page and headers the whole stack gave it, with a nonce of its own, and nothing personal, stale or foreign
is ever answered that way."""

import gzip
import io
import re
import sys

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings

from clinic import pagecache
from config.wsgi import application
from tests import test_caching

pytestmark = pytest.mark.django_db

site = test_caching.site  # the same small clinic as the page-cache tests (a fixture)

# Headers that differ from response to response by design.
PER_RESPONSE = {"content-security-policy", "content-length", "x-page-cache"}


def wsgi_get(path, remote="203.0.113.9", **headers):
    """GET `path` through the site's WSGI application, as gunicorn calls it. Returns (status, headers, body)."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path.split("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": remote,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    environ.update(headers)
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, response_headers

    # As Django's test client does: the handler must not close the test's database connection between requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(seen["status"].split()[0]), {k.lower(): v for k, v in seen["headers"]}, body


GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


def html_of(headers, body):
    return (gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body).decode()


def header_nonce(headers):
    return re.search(r"'nonce-([^']+)'", headers["content-security-policy"]).group(1)


@pytest.fixture
def django_calls():
    """How many requests reached Django's handler (its request_started signal)."""
    calls = []

    def receiver(**kwargs):
        calls.append(1)

    request_started.connect(receiver)
    yield calls
    request_started.disconnect(receiver)


@pytest.mark.parametrize("path", ["/", "/articles/night-cramps/", "/articles/?q=cramps", "/treatments/acupuncture/"])
def test_a_hit_is_the_page_and_headers_django_gave_with_a_nonce_of_its_own(site, django_calls, path):
    status, miss_headers, miss_body = wsgi_get(path, **GZIP)
    assert status == 200 and miss_headers["x-page-cache"] == "miss" and len(django_calls) == 1
    status, hit_headers, hit_body = wsgi_get(path, **GZIP)
    assert status == 200 and hit_headers["x-page-cache"] == "hit"
    assert len(django_calls) == 1  # answered in front of Django: no handler, middleware, session or view
    # Every header the whole stack set (security, CSP, language, Vary, caching) is there, with the same value.
    assert {k: v for k, v in hit_headers.items() if k not in PER_RESPONSE} == {
        k: v for k, v in miss_headers.items() if k not in PER_RESPONSE
    }
    for name in ("x-frame-options", "permissions-policy", "referrer-policy", "x-content-type-options", "etag"):
        assert name in hit_headers, name
    # The page is the same page; its nonce is new, and the body's scripts carry the header's nonce.
    miss_html, hit_html = html_of(miss_headers, miss_body), html_of(hit_headers, hit_body)
    nonce = header_nonce(hit_headers)
    assert nonce != header_nonce(miss_headers)
    assert hit_html == miss_html.replace(header_nonce(miss_headers), nonce)
    assert f'nonce="{nonce}"' in hit_html or "application/ld+json" not in hit_html
    assert int(hit_headers["content-length"]) == len(hit_body)


def test_each_hit_gets_a_fresh_nonce(site):
    wsgi_get("/", **GZIP)
    nonces = {header_nonce(wsgi_get("/", **GZIP)[1]) for _ in range(5)}
    assert len(nonces) == 5


def test_clients_without_gzip_get_the_plain_page(site):
    wsgi_get("/contact/")
    status, headers, body = wsgi_get("/contact/")
    assert status == 200 and headers["x-page-cache"] == "hit" and "content-encoding" not in headers
    assert body.lower().startswith(b"<!doctype html>") and f'nonce="{header_nonce(headers)}"'.encode() in body


def test_a_staff_edit_is_never_answered_from_the_old_page(site, django_calls):
    wsgi_get("/articles/night-cramps/", **GZIP)
    article = site["article"]
    article.title = "Night cramps: what may help"
    article.save()
    status, headers, body = wsgi_get("/articles/night-cramps/", **GZIP)
    assert headers["x-page-cache"] == "miss" and "Night cramps: what may help" in html_of(headers, body)


def test_people_with_a_session_or_messages_never_get_an_early_answer(site, django_calls):
    wsgi_get("/", **GZIP)
    calls = len(django_calls)
    for cookie in ("__Host-sessionid=abc", "messages=xyz", "a=1; __Host-sessionid=abc"):
        status, headers, _body = wsgi_get("/", HTTP_COOKIE=cookie, **GZIP)
        assert headers["x-page-cache"] == "bypass", cookie
    assert len(django_calls) == calls + 3
    # Other cookies (a CSRF cookie from an earlier form) change nothing.
    assert wsgi_get("/", HTTP_COOKIE="__Host-csrftoken=abc", **GZIP)[1]["x-page-cache"] == "hit"


def test_credentials_and_conditional_requests_go_to_django(site, django_calls):
    _status, first, _body = wsgi_get("/", **GZIP)
    calls = len(django_calls)
    status, headers, body = wsgi_get("/", HTTP_IF_NONE_MATCH=first["etag"], **GZIP)
    assert status == 304 and body == b""
    assert wsgi_get("/", HTTP_AUTHORIZATION="Basic eDp5", **GZIP)[1]["x-page-cache"] == "bypass"
    assert len(django_calls) == calls + 2


def test_a_host_that_is_not_ours_is_refused_not_answered(site):
    wsgi_get("/", **GZIP)
    status, _headers, body = wsgi_get("/", HTTP_HOST="evil.example", **GZIP)
    assert status == 400 and b"Book" not in body


@override_settings(TRUSTED_PROXIES=["10.0.0.1"], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_forwarded_protocol_counts_only_from_our_proxy(site):
    # The proxy's https page (with HSTS) and a stranger's claim of https are different pages.
    https = {"HTTP_X_FORWARDED_PROTO": "https", **GZIP}
    _status, proxied, _body = wsgi_get("/", remote="10.0.0.1", **https)
    assert wsgi_get("/", remote="10.0.0.1", **https)[1]["x-page-cache"] == "hit"
    _status, stranger, _body = wsgi_get("/", remote="203.0.113.9", **https)
    assert stranger["x-page-cache"] == "miss"  # not the proxy's https entry
    assert "strict-transport-security" in proxied and "strict-transport-security" not in stranger


def test_static_files_and_the_admin_never_look_in_the_page_cache(site, monkeypatch):
    looked = []
    real = pagecache.request_key
    monkeypatch.setattr(
        pagecache, "request_key", lambda meta, language: looked.append(meta["PATH_INFO"]) or real(meta, language)
    )
    wsgi_get("/static/css/site.css")
    wsgi_get("/admin/login/")
    assert looked == []
    wsgi_get("/contact/")
    assert looked[0] == "/contact/"


def test_a_damaged_entry_means_the_page_is_rendered_afresh(site, django_calls):
    wsgi_get("/", **GZIP)
    key = pagecache.request_key(
        {"wsgi.url_scheme": "http", "HTTP_HOST": "testserver", "PATH_INFO": "/", "REMOTE_ADDR": "203.0.113.9"}, "en"
    )
    token, entry = cache.get(key)
    cache.set(key, (token, {**entry, "packed": {"chunks": "not a stream"}}))
    status, headers, body = wsgi_get("/", **GZIP)
    assert status == 200 and "Book" in html_of(headers, body)
    assert len(django_calls) == 2 and headers["x-page-cache"] == "miss"


def test_a_miss_asks_the_shared_cache_once_before_the_page_is_rendered(site, monkeypatch):
    asked = []
    real = pagecache.caching.get_versioned
    monkeypatch.setattr(pagecache.caching, "get_versioned", lambda *a: asked.append(a[1]) or real(*a))
    wsgi_get("/robots.txt")  # not a cached page: one look, by the WSGI entry point only
    assert len([key for key in asked if key.startswith(pagecache.KEY_PREFIX)]) == 1
