"""What makes public pages fast without changing what visitors get: page-cache hits answered before the rest of
the middleware, pages sent gzip-compressed (never one with a CSRF token), one render after a staff edit, and a
cheap access log that still hides private links."""

import gzip
import io
import logging
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic import caching, compression, pagecache
from tests import test_caching

pytestmark = pytest.mark.django_db

site = test_caching.site  # the same small clinic as the page-cache tests (a fixture)
GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


def _nonce(response):
    return re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)


def _html(response):
    body = response.content
    return (gzip.decompress(body) if response.get("Content-Encoding") == "gzip" else body).decode()


def get_counting(client, url, **extra):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    return response, len(ctx.captured_queries)


# --- Hits before the rest of the middleware ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/articles/night-cramps/", "/articles/?q=cramps", "/treatments/acupuncture/"])
def test_a_hit_is_answered_before_sessions_auth_and_locale(client, site, url):
    client.get(url, **GZIP)
    response, queries = get_counting(client, url, **GZIP)
    assert response.status_code == 200 and response["X-Page-Cache"] == "hit" and queries == 0
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "user")  # never reached those middlewares
    # ...and still carries the headers the whole stack gives a page
    for header in ("Content-Security-Policy", "X-Frame-Options", "Permissions-Policy", "Referrer-Policy"):
        assert header in response, header
    assert response["Content-Language"] and "Accept-Language" in response["Vary"]
    assert "Accept-Encoding" in response["Vary"]


def test_a_hit_and_a_miss_show_the_same_page(client, site):
    miss = client.get("/articles/night-cramps/", **GZIP)
    hit = client.get("/articles/night-cramps/", **GZIP)
    assert miss["X-Page-Cache"] == "miss" and hit["X-Page-Cache"] == "hit"
    assert _html(miss).replace(_nonce(miss), "N") == _html(hit).replace(_nonce(hit), "N")
    assert miss["ETag"] == hit["ETag"]


# --- Compression ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/articles/night-cramps/", "/treatments/acupuncture/", "/articles/"])
def test_public_pages_are_sent_gzip_compressed_with_their_own_nonce(client, site, url):
    for state in ("miss", "hit", "hit"):
        response = client.get(url, **GZIP)
        assert response["X-Page-Cache"] == state
        assert response["Content-Encoding"] == "gzip"
        assert int(response["Content-Length"]) == len(response.content)
        html = _html(response)  # gzip checks the stream's CRC and length
        nonce = _nonce(response)
        assert html.count(f'nonce="{nonce}"') == len(re.findall(r"<script[^>]*>", html)) > 0
        assert len(response.content) < len(html.encode()) / 2


def test_clients_without_gzip_get_the_plain_page(client, site):
    client.get("/articles/night-cramps/", **GZIP)
    response = client.get("/articles/night-cramps/")
    assert response["X-Page-Cache"] == "hit" and "Content-Encoding" not in response
    assert "Night cramps" in response.content.decode() and f'nonce="{_nonce(response)}"' in response.content.decode()


def test_pages_with_a_csrf_token_are_never_compressed(client, site):
    """BREACH: a secret (the CSRF token) next to text an attacker may choose must not be compressed."""
    for _ in range(2):  # rendered, then the reused form
        response = client.get(f"/book/?service={site['service'].slug}", **GZIP)
        assert response.status_code == 200 and "csrfmiddlewaretoken" in response.content.decode()
        assert "Content-Encoding" not in response


def test_uncached_public_pages_are_compressed_too(client, site):
    response = client.get("/articles/night-cramps/?utm_source=newsletter", **GZIP)
    assert response["X-Page-Cache"] == "off" and response["Content-Encoding"] == "gzip"
    assert "Night cramps" in _html(response)


@pytest.mark.parametrize("nonce", [b"A" * 24, b"x/y+z=" * 4, b"short", b""])
def test_the_stored_stream_takes_any_nonce(nonce):
    placeholder = pagecache.NONCE_PLACEHOLDER
    body = b"<p>" + b"text " * 900 + b'<script nonce="' + placeholder + b'">{}</script>' + b"more " * 900
    body += b'<script nonce="' + placeholder + b'">[]</script></p>'
    packed = compression.pack(body, placeholder, 24)
    expected = body.replace(placeholder, nonce)
    assert gzip.decompress(compression.gzip_with(packed, nonce)) == expected
    assert compression.plain_with(packed, nonce) == expected


# --- One render after an edit -------------------------------------------------------------------------------------


def _hold_lock(response):
    """Take the render lock for the page of `response`, as a request on another server instance would."""
    key = pagecache._cache_key(response.wsgi_request, None)
    lock = pagecache.LOCK_PREFIX + key[len(pagecache.KEY_PREFIX) :] + ":" + caching.version(pagecache.CONTENT)
    assert caching.add(lock, 1, 10)
    return lock


def test_while_another_request_renders_the_previous_page_is_served(client, site):
    first = client.get("/", **GZIP)
    pagecache.invalidate()  # a staff edit
    lock = _hold_lock(first)
    response, queries = get_counting(client, "/", **GZIP)
    assert response["X-Page-Cache"] == "stale" and queries == 0
    cache.delete(lock)  # the other render finished without storing (or its instance died)
    response, queries = get_counting(client, "/", **GZIP)
    assert response["X-Page-Cache"] == "miss" and queries > 0
    assert client.get("/", **GZIP)["X-Page-Cache"] == "hit"


def test_with_nothing_to_serve_a_request_waits_then_renders_itself(client, site, monkeypatch):
    monkeypatch.setattr(pagecache, "WAIT_SECONDS", 0.05)
    first = client.get("/treatments/")
    cache.clear()
    _hold_lock(first)
    response = client.get("/treatments/")
    assert response.status_code == 200 and "Acupuncture" in _html(response)


def test_the_lock_is_released_once_the_page_is_stored(client, site):
    client.get("/contact/")
    assert client.get("/contact/")["X-Page-Cache"] == "hit"
    assert not [key for key in cache._cache if pagecache.LOCK_PREFIX in key]  # LocMemCache's keys


# --- Access log ---------------------------------------------------------------------------------------------------


def test_access_log_is_one_short_line_per_request_without_secrets():
    from gunicorn.config import Config

    from clinic.log_redaction import RedactingLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    logger = RedactingLogger(cfg)
    stream = io.StringIO()
    logger.access_log.handlers = [logging.StreamHandler(stream)]

    class Response:
        status, sent = "200 OK", 512

    class Request:
        path = "/book/manage/abc.def-secret/"

    environ = {"REMOTE_ADDR": "203.0.113.5", "REQUEST_METHOD": "GET", "PATH_INFO": Request.path,
               "QUERY_STRING": "q=back+pain", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_USER_AGENT": "Phone"}  # fmt: skip
    for _ in range(3):
        logger.access(Response(), Request(), environ, timedelta(milliseconds=12))
    logger.flush_access()
    lines = stream.getvalue().splitlines()
    assert lines == ['203.0.113.5 "GET /book/manage/[token]/ HTTP/1.1" 200 512 12ms "Phone"'] * 3


# --- Markdown rendered once, when saved -----------------------------------------------------------------------------


def test_an_article_is_rendered_when_saved_and_pages_read_the_stored_html(client, site, monkeypatch):
    article = site["article"]
    article.body = "Intro.\n\n## Stretching at night\n\nGentle calf stretches may help."
    article.save()
    article.refresh_from_db()
    assert '<h2 id="stretching-at-night">Stretching at night</h2>' in article.body_rendered
    assert article.body_toc == [{"id": "stretching-at-night", "name": "Stretching at night", "children": []}]

    def no_rendering(*args, **kwargs):
        raise AssertionError("a page rendered Markdown")

    monkeypatch.setattr("articles.body.render_markdown", no_rendering)
    html = _html(client.get("/articles/night-cramps/"))
    assert "Gentle calf stretches may help." in html and 'href="#stretching-at-night"' in html
    assert "Acupuncture" in _html(client.get("/treatments/acupuncture/"))


def test_rows_written_without_save_are_still_rendered_when_shown(client, site):
    from articles.models import Article

    Article.objects.filter(pk=site["article"].pk).update(body="Fresh **words**.", body_rendered="", body_toc=[])
    assert "Fresh <strong>words</strong>." in _html(client.get("/articles/night-cramps/"))


# --- Fragments cached until content changes -------------------------------------------------------------------------


def test_a_cached_fragment_carries_the_nonce_of_its_own_response(client, site, settings):
    settings.PAGE_CACHE_ENABLED = False  # every request renders; the fragments come from the cache
    for _ in range(3):
        response, queries = get_counting(client, "/articles/night-cramps/")
        nonce = _nonce(response)
        tags = re.findall(r"<script[^>]*>", _html(response))
        assert tags and all(f'nonce="{nonce}"' in tag for tag in tags)
    assert queries == 0  # the article and the fragments come from the shared cache


def test_a_staff_edit_shows_at_once_in_cached_fragments(client, site, settings):
    from tests.factories import ArticleFAQFactory

    settings.PAGE_CACHE_ENABLED = False
    client.get("/articles/night-cramps/")
    ArticleFAQFactory(article=site["article"], question="Can stretching at bedtime help?")
    html = _html(client.get("/articles/night-cramps/"))
    assert "Can stretching at bedtime help?" in html and html.count("Can stretching at bedtime help?") == 2  # + JSON-LD


# --- The shipped gunicorn configuration -----------------------------------------------------------------------------


def _gunicorn_conf(monkeypatch, **env):
    import runpy
    from pathlib import Path

    for name in ("GUNICORN_WORKERS", "GUNICORN_MAX_REQUESTS", "GUNICORN_MAX_WORKER_MEMORY_MB"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))


def test_workers_are_never_recycled_on_a_request_count(monkeypatch):
    import multiprocessing

    conf = _gunicorn_conf(monkeypatch)
    assert conf["max_requests"] == 0 and conf["worker_class"] == "sync"
    assert conf["workers"] == max(2, multiprocessing.cpu_count())
    assert conf["accesslog"] == "-" and conf["logger_class"] == "clinic.log_redaction.RedactingLogger"


def test_a_worker_that_grew_too_big_is_restarted_gracefully(monkeypatch):
    conf = _gunicorn_conf(monkeypatch, GUNICORN_MAX_WORKER_MEMORY_MB="1")  # any Python process is bigger

    class Worker:
        pid, alive, handled = 1, True, 0
        log = logging.getLogger("test")

    worker = Worker()
    for _ in range(999):
        conf["post_request"](worker, None, {}, None)
    assert worker.alive  # checked only every 1,000 requests
    conf["post_request"](worker, None, {}, None)
    assert not worker.alive
    small = _gunicorn_conf(monkeypatch)  # the default limit, 512 MB
    worker = Worker()
    for _ in range(2000):
        small["post_request"](worker, None, {}, None)
    assert worker.alive


@pytest.mark.parametrize("count", [0, 1, 7, 4096, 20000])
def test_the_checksum_map_is_built_in_one_pass_as_32_would_build_it(count):
    assert compression._shift_columns(count) == [compression._shift(1 << bit, bytes(count)) for bit in range(32)]
