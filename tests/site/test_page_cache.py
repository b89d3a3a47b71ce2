"""How pages may be cached (clinic/cache_headers.py), in one place: public pages say so in standard headers
(public, max-age, s-maxage <= 60, stale-while-revalidate, a strong ETag, 304s); anything with a form token, a
session, messages or patient data, and any URL a page does not expect, is private, no-store; parts of pages kept
in the shared cache ({% cache %} on the content version) change as soon as staff edit what they show."""

import gzip
import re
import socket

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

from booking import workflow
from booking.models import VisitType
from clinic import caching
from clinic.models import ClinicProfile
from tests.factories import (
    ArticleFactory,
    ConditionFactory,
    TreatmentFAQFactory,
    free_starts,
    patient,
)

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    "/",
    "/treatments/",
    "/treatments/acupuncture/",
    "/conditions/muscle-cramps/",
    "/articles/",
    "/articles/?treatment=acupuncture&page=1",
    "/articles/night-cramps/",
    "/articles/feed/",
    "/sitemap.xml",
    "/robots.txt",
    "/team/",
    "/team/pat/",
    "/contact/",
    "/privacy/",
    "/patients/first-visit/",
    "/patients/fees-and-insurance/",
]


def directives(response):
    return {part.strip().split("=")[0]: part.strip() for part in response["Cache-Control"].split(",")}


def assert_public(response, url=""):
    cache_control = directives(response)
    assert response.status_code == 200, url
    assert "public" in cache_control and "private" not in cache_control and "no-store" not in cache_control, url
    assert cache_control["max-age"] == f"max-age={settings.PAGE_MAX_AGE}", url
    shared = int(cache_control["s-maxage"].split("=")[1])
    assert 0 < shared <= 60, url
    assert int(cache_control["stale-while-revalidate"].split("=")[1]) > 0, url
    assert re.fullmatch(r'"[0-9a-f]+"', response["ETag"]), url  # strong
    assert not response.cookies, url


def assert_private(response, url=""):
    cache_control = directives(response)
    assert "private" in cache_control and "no-store" in cache_control, (url, response["Cache-Control"])
    assert "public" not in cache_control and "s-maxage" not in cache_control, url
    assert "ETag" not in response, url


# --- Public pages ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_say_how_proxies_may_keep_them(client, site, url):
    first, second = client.get(url), client.get(url)
    assert_public(first, url)
    assert first["ETag"] == second["ETag"] and first.content == second.content, url  # nothing per response


@pytest.mark.parametrize("url", ["/", "/articles/", "/articles/night-cramps/", "/articles/feed/"])
def test_a_matching_etag_gets_304_and_a_changed_page_does_not(client, site, url):
    etag = client.get(url)["ETag"]
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and response.content == b"" and response["ETag"] == etag
    site["article"].title = "Night cramps, updated"
    site["article"].save()
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag


def test_public_pages_are_gzip_compressed_the_same_every_time_with_a_strong_etag(client, site):
    first = client.get("/articles/night-cramps/", HTTP_ACCEPT_ENCODING="gzip, br")
    second = client.get("/articles/night-cramps/", HTTP_ACCEPT_ENCODING="gzip")
    assert first["Content-Encoding"] == "gzip" and "Accept-Encoding" in first["Vary"]
    assert first.content == second.content and first["ETag"] == second["ETag"]
    assert_public(first)
    plain = client.get("/articles/night-cramps/")
    assert "Content-Encoding" not in plain and plain["ETag"] != first["ETag"]
    assert gzip.decompress(first.content) == plain.content
    assert (
        client.get("/articles/night-cramps/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=first["ETag"]).status_code
        == 304
    )


# --- Private, no-store ----------------------------------------------------------------------------------------


def test_pages_with_a_form_token_are_private_and_not_compressed(client, site):
    for url in ("/book/", f"/book/?service={site['service'].slug}", f"/book/times/?service={site['service'].pk}"):
        response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200
        assert_private(response, url)
        assert "Content-Encoding" not in response, url  # BREACH: a page with a CSRF token is never compressed


def test_the_patients_booking_page_is_private(client, site):
    start = free_starts(site["service"], location=site["location"])[0]
    booking = workflow.request_booking(
        service=site["service"], visit_type=VisitType.IN_CLINIC, location=site["location"], practitioner=None,
        start=start, patient=patient(),
    )  # fmt: skip
    response = client.get(f"/book/manage/{booking.manage_token()}/")
    assert response.status_code == 200
    assert_private(response)


@pytest.mark.parametrize("url", ["/", "/articles/night-cramps/", "/contact/"])
def test_staff_with_a_session_get_private_pages(staff_client, site, url):
    assert_private(staff_client.get(url), url)


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}=not-a-real-session"},
        {"HTTP_COOKIE": "messages=anything"},
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
    ],
)
def test_a_session_or_messages_cookie_or_authorization_makes_any_page_private(client, site, extra):
    for url in ("/", "/articles/night-cramps/"):
        assert_private(client.get(url, **extra), url)


def test_a_draft_preview_is_private(client, staff_client, site):
    ArticleFactory(slug="draft-plans", title="Secret plans", status="draft", treatment=site["treatment"])
    response = staff_client.get("/articles/draft-plans/")
    assert response.status_code == 200 and "Secret plans" in response.content.decode()
    assert_private(response)
    assert client.get("/articles/draft-plans/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/?utm_source=newsletter",
        "/articles/night-cramps/?x=1",
        "/team/?page=2",
        "/articles/?treatment=no-such-treatment",
        "/articles/?condition=%00",
        "/articles/?page=1&page=2",
        "/articles/?page=01",
        "/articles/?q=cramps",
        "/articles/?utm_campaign=spring",
        "/sitemap.xml?a=b",
    ],
)
def test_a_url_the_page_does_not_expect_is_stored_nowhere(client, site, url):
    response = client.get(url)
    assert response.status_code in (200, 400, 404), url
    assert_private(response, url)


def test_errors_redirects_and_posts_are_private(client, site):
    assert_private(client.get("/articles/no-such-article/"))
    assert_private(client.get("/articles/?page=99"))
    assert_private(client.get("/team"))  # the redirect to /team/
    response = client.post("/", {})
    assert response.status_code in (403, 405)
    assert_private(response)


def test_head_gets_the_headers_of_get(client, site):
    response = client.head("/team/")
    assert response.status_code == 200 and response.content == b""
    assert "public" in response["Cache-Control"]


# --- Parts of pages in the shared cache ({% cache %} keyed on the content version) -------------------------------


def _after(client, url, change):
    client.get(url)
    change()
    return client.get(url).content.decode()


def test_editing_an_article_shows_at_once(client, site):
    article = site["article"]

    def edit():
        article.title = "Cramps at night, revised"
        article.save()

    for url in ("/articles/night-cramps/", "/articles/", "/"):
        assert "Cramps at night, revised" in _after(client, url, edit), url
        article.title = "Night cramps"
        article.save()


def test_editing_a_treatment_service_or_faq_shows_at_once(client, site):
    def edit_service():
        site["service"].price_text = "$123 a visit"
        site["service"].save()

    assert "$123 a visit" in _after(client, "/treatments/acupuncture/", edit_service)
    html = _after(
        client,
        "/treatments/acupuncture/",
        lambda: TreatmentFAQFactory(treatment=site["treatment"], question="Does it hurt at all?"),
    )
    assert "Does it hurt at all?" in html


def test_editing_the_clinic_profile_shows_in_every_cached_part_at_once(client, site):
    def edit():
        profile = ClinicProfile.objects.get()
        profile.phone = "(416) 555-0199"
        profile.save()

    for url in ("/", "/contact/", "/articles/night-cramps/"):
        assert "555-0199" in _after(client, url, edit), url


def test_many_to_many_changes_and_bulk_updates_show_at_once(client, site):
    other = ConditionFactory(name="Sports strain", slug="sports-strain")
    assert "Sports strain" in _after(client, "/articles/night-cramps/", lambda: site["article"].conditions.add(other))
    from articles.models import Article

    html = _after(client, "/articles/", lambda: Article.objects.filter(slug="night-cramps").unpublish())
    assert "Night cramps" not in html


def test_content_changes_again_after_commit(client, site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        site["article"].save()
    before = caching.version(caching.CONTENT)
    for callback in callbacks:
        callback()
    assert caching.version(caching.CONTENT) != before


def test_new_bookings_keep_the_cached_parts(client, site):
    before = caching.version(caching.CONTENT)
    start = free_starts(site["service"], location=site["location"])[0]
    workflow.request_booking(
        service=site["service"], visit_type=VisitType.IN_CLINIC, location=site["location"], practitioner=None,
        start=start, patient=patient(),
    )  # fmt: skip
    assert caching.version(caching.CONTENT) == before


def test_a_lost_version_key_never_brings_back_old_parts(client, site):
    client.get("/articles/night-cramps/")
    cache.delete(caching.version_key(caching.CONTENT))  # evicted
    site["article"].title = "Night cramps, edited while the key was gone"
    Client().get("/")  # another request creates a new version first
    type(site["article"]).objects.filter(pk=site["article"].pk).update(title=site["article"].title)
    assert "edited while the key was gone" in client.get("/articles/night-cramps/").content.decode()


def test_pages_still_work_when_the_cache_server_is_down(client, site):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    caches = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    with override_settings(CACHES=caches):  # django-redis at a port where nothing listens
        for url in ("/", "/articles/night-cramps/", "/"):
            response = client.get(url)
            assert response.status_code == 200 and "Night cramps" in response.content.decode(), url


# --- Static files and production settings --------------------------------------------------------------------


def test_hashed_static_files_are_served_immutable():
    from config.settings import STORAGES, WHITENOISE_MAX_AGE  # the production values (DEBUG off)

    assert STORAGES["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert WHITENOISE_MAX_AGE == 31536000
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE


def test_production_uses_the_cached_template_loader_and_persistent_connections():
    from django.template import engines

    loaders = engines["django"].engine.template_loaders
    assert [type(loader).__module__ + "." + type(loader).__name__ for loader in loaders] == [
        "django.template.loaders.cached.Loader"
    ]
    assert "loaders" not in settings.TEMPLATES[0]["OPTIONS"]
    if not settings.DEBUG:
        from config.settings import DATABASES

        assert DATABASES["default"]["CONN_MAX_AGE"] == 60
