"""The public page cache (clinic/pagecache.py): hits cost no query, staff edits show at once, private pages and
people who are logged in never meet a cached page, the CSP nonce of a cached body matches its header, and
Cache-Control / ETag / Last-Modified / 304 on public pages."""

import re
import socket

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from booking import workflow
from booking.models import VisitType
from clinic import pagecache
from clinic.models import ClinicProfile
from tests.factories import (
    ArticleFactory,
    ArticleFAQFactory,
    ConditionFactory,
    TreatmentFactory,
    TreatmentFAQFactory,
    free_starts,
    make_clinic,
    make_practitioner,
    make_service,
    patient,
)

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    "/",
    "/treatments/",
    "/treatments/acupuncture/",
    "/conditions/muscle-cramps/",
    "/articles/",
    "/articles/?q=cramps",
    "/articles/?treatment=acupuncture&page=1",
    "/articles/night-cramps/",
    "/articles/feed/",
    "/sitemap.xml",
    "/team/",
    "/team/pat/",
    "/contact/",
    "/privacy/",
]


@pytest.fixture
def site():
    profile, location = make_clinic()
    pat = make_practitioner("Pat Lee", slug="pat", location=location)
    treatment = TreatmentFactory(name="Acupuncture", slug="acupuncture")
    treatment.practitioners.add(pat)
    TreatmentFAQFactory(treatment=treatment)
    condition = ConditionFactory(name="Muscle cramps", slug="muscle-cramps")
    condition.treatments.add(treatment)
    article = ArticleFactory(
        slug="night-cramps", title="Night cramps", treatment=treatment, conditions=[condition], author=pat
    )
    ArticleFAQFactory(article=article)
    service = make_service([pat])
    service.treatment = treatment
    service.save()
    cache.clear()  # start with nothing cached, as after a deploy
    return {"profile": profile, "location": location, "pat": pat, "treatment": treatment, "article": article,
            "condition": condition, "service": service}  # fmt: skip


@pytest.fixture
def staff_client(db):
    user = User.objects.create_superuser("editor", "editor@clinic.example", "a-long-test-password")
    client = Client()
    client.force_login(user)
    return client


def get_counting(client, url, **extra):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    return response, len(ctx.captured_queries)


# --- Hits ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_second_request_is_a_cache_hit_with_no_query(client, site, url):
    first, first_queries = get_counting(client, url)
    assert first.status_code == 200 and first["X-Page-Cache"] == "miss", url
    assert first_queries > 0
    second, queries = get_counting(client, url)
    assert second.status_code == 200 and second["X-Page-Cache"] == "hit", url
    assert queries == 0, url
    assert second.content.replace(_nonce(second).encode(), b"") == first.content.replace(_nonce(first).encode(), b"")
    assert second["Content-Type"] == first["Content-Type"]


def test_home_from_cache_runs_no_query(client, site):
    client.get("/")
    response, queries = get_counting(client, "/")
    assert response["X-Page-Cache"] == "hit" and queries == 0
    # The outer middleware still runs on a hit: security headers and CSP are there.
    assert response["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in response


def _nonce(response):
    match = re.search(r"'nonce-([^']+)'", response.get("Content-Security-Policy", ""))
    return match.group(1) if match else ""


@pytest.mark.parametrize("url", ["/", "/articles/night-cramps/", "/treatments/acupuncture/", "/contact/"])
def test_cached_body_carries_the_nonce_of_its_own_csp_header(client, site, url):
    first = client.get(url)
    second = client.get(url)
    assert second["X-Page-Cache"] == "hit"
    first_nonce, nonce = _nonce(first), _nonce(second)
    assert nonce and first_nonce and nonce != first_nonce
    html = second.content.decode()
    tags = re.findall(r"<script[^>]*>", html)
    assert tags, "the page has JSON-LD scripts"
    for tag in tags:
        assert f'nonce="{nonce}"' in tag, tag
    assert first_nonce not in html
    assert pagecache.NONCE_PLACEHOLDER.decode() not in html


# --- Invalidation --------------------------------------------------------------------------------------------


def _hit_then(client, url, change):
    """Cache the page, make the change, and return the next response."""
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    change()
    return client.get(url)


def test_editing_an_article_shows_at_once(client, site):
    article = site["article"]

    def edit():
        article.title = "Cramps at night, revised"
        article.save()

    for url in ("/articles/night-cramps/", "/articles/", "/"):
        response = _hit_then(client, url, edit)
        assert "Cramps at night, revised" in response.content.decode(), url
        article.title = "Night cramps"  # back, for the next page
        article.save()


def test_unpublishing_an_article_removes_it_at_once(client, site):
    article = site["article"]
    response = _hit_then(client, "/articles/", lambda: article.delete())
    assert "Night cramps" not in response.content.decode()
    assert client.get("/articles/night-cramps/").status_code == 404


def test_editing_a_treatment_or_its_faq_shows_at_once(client, site):
    treatment = site["treatment"]

    def edit():
        treatment.summary = "A new summary of acupuncture."
        treatment.save()

    assert "A new summary of acupuncture." in _hit_then(client, "/treatments/acupuncture/", edit).content.decode()

    def add_faq():
        TreatmentFAQFactory(treatment=treatment, question="Does it hurt at all?")

    assert "Does it hurt at all?" in _hit_then(client, "/treatments/acupuncture/", add_faq).content.decode()


def test_editing_a_service_shows_on_the_treatment_page_at_once(client, site):
    service = site["service"]

    def edit():
        service.price_text = "$123 a visit"
        service.save()

    assert "$123 a visit" in _hit_then(client, "/treatments/acupuncture/", edit).content.decode()


def test_editing_the_clinic_profile_shows_everywhere_at_once(client, site):
    def edit():
        profile = ClinicProfile.objects.get()
        profile.phone = "(416) 555-0199"
        profile.save()

    for url in ("/", "/contact/", "/articles/night-cramps/"):
        assert "555-0199" in _hit_then(client, url, edit).content.decode(), url


def test_many_to_many_changes_invalidate(client, site):
    other = ConditionFactory(name="Sports strain", slug="sports-strain")
    cache.clear()
    response = _hit_then(client, "/articles/night-cramps/", lambda: site["article"].conditions.add(other))
    assert "Sports strain" in response.content.decode()


def test_an_edit_in_admin_invalidates(client, staff_client, site):
    client.get("/contact/")
    assert client.get("/contact/")["X-Page-Cache"] == "hit"
    profile = ClinicProfile.objects.get()
    url = f"/admin/clinic/clinicprofile/{profile.pk}/change/"
    form = staff_client.get(url).context["adminform"].form
    data = {
        name: ("on" if value is True else value) for name, value in form.initial.items() if value not in (None, False)
    }
    data["phone"] = "(416) 555-0188"
    response = staff_client.post(url, data)
    assert response.status_code == 302, getattr(response, "context", {}) and response.context["adminform"].form.errors
    response = client.get("/contact/")
    assert response["X-Page-Cache"] == "miss" and "555-0188" in response.content.decode()


def test_invalidates_again_after_commit(client, site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        site["article"].save()
    assert callbacks, "an after-commit invalidation is registered"
    client.get("/")
    assert client.get("/")["X-Page-Cache"] == "hit"
    for callback in callbacks:
        callback()
    assert client.get("/")["X-Page-Cache"] == "miss"


def test_new_bookings_do_not_flush_the_page_cache(client, site):
    client.get("/")
    start = free_starts(site["service"], location=site["location"])[0]
    workflow.request_booking(
        service=site["service"],
        visit_type=VisitType.IN_CLINIC,
        location=site["location"],
        practitioner=None,
        start=start,
        patient=patient(),
    )
    assert client.get("/")["X-Page-Cache"] == "hit"


def test_a_lost_version_key_never_serves_an_old_page(client, site):
    client.get("/")
    cache.delete(pagecache.VERSION_KEY)  # evicted
    assert client.get("/")["X-Page-Cache"] == "miss"
    assert client.get("/")["X-Page-Cache"] == "hit"


# --- Never cached --------------------------------------------------------------------------------------------


def test_booking_pages_are_never_cached(client, site):
    for url in ("/book/", f"/book/?service={site['service'].slug}", f"/book/times/?service={site['service'].pk}"):
        for _ in range(2):
            response, queries = get_counting(client, url)
            assert response.status_code == 200
            assert "X-Page-Cache" not in response, url
            # The empty form may be reused (booking/formcache.py), but never through the page cache and
            # never without fresh per-visitor tokens (tests/test_booking_request.py).
            assert "__bookingform" not in response.content.decode(), url
            cache_control = response["Cache-Control"]
            assert "no-store" in cache_control and "private" in cache_control, url
    assert not [key for key in _cache_keys() if key.startswith(pagecache.KEY_PREFIX)]


def _cache_keys():
    # LocMemCache keys look like ":1:pagecache:page:…"
    return [key.split(":", 2)[2] for key in cache._cache]


def test_patient_booking_page_is_never_cached(client, site):
    start = free_starts(site["service"], location=site["location"])[0]
    booking = workflow.request_booking(
        service=site["service"],
        visit_type=VisitType.IN_CLINIC,
        location=site["location"],
        practitioner=None,
        start=start,
        patient=patient(),
    )
    url = f"/book/manage/{booking.manage_token()}/"
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200
    assert "no-store" in second["Cache-Control"] and "X-Page-Cache" not in second


def test_logged_in_staff_never_get_a_cached_page(client, staff_client, site):
    client.get("/")  # an anonymous visitor fills the cache
    response, queries = get_counting(staff_client, "/")
    assert response["X-Page-Cache"] == "bypass" and queries > 0
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]
    assert "ETag" not in response


def test_logged_in_staff_never_fill_the_cache(client, staff_client, site):
    staff_client.get("/articles/night-cramps/")
    assert client.get("/articles/night-cramps/")["X-Page-Cache"] == "miss"


def test_staff_draft_preview_is_never_cached(client, staff_client, site):
    draft = ArticleFactory(slug="draft-plans", title="Secret plans", status="draft", treatment=site["treatment"])
    assert draft.status == "draft"
    for _ in range(2):
        response = staff_client.get("/articles/draft-plans/")
        assert response.status_code == 200 and "Secret plans" in response.content.decode()
        assert "no-store" in response["Cache-Control"]
    assert client.get("/articles/draft-plans/").status_code == 404
    assert "Secret plans" not in client.get("/articles/").content.decode()


def test_any_session_cookie_bypasses_the_cache(client, site):
    from django.conf import settings

    client.get("/")
    client.cookies[settings.SESSION_COOKIE_NAME] = "not-a-real-session"
    response = client.get("/")
    assert response["X-Page-Cache"] == "bypass"


def test_unknown_query_parameters_are_rendered_not_stored(client, site):
    for _ in range(2):
        response = client.get("/articles/night-cramps/?utm_source=newsletter")
        # Rendered, not served from the page cache (the article itself may come from the shared cache).
        assert response.status_code == 200 and response["X-Page-Cache"] == "off"
        assert "public" in response["Cache-Control"]  # still a public page
    assert client.get("/articles/night-cramps/")["X-Page-Cache"] == "miss"


def test_search_terms_get_their_own_entries(client, site):
    ArticleFactory(slug="calf-strain", title="Calf strain", treatment=site["treatment"])
    client.get("/articles/?q=night")
    client.get("/articles/?q=calf")
    night, calf = client.get("/articles/?q=night"), client.get("/articles/?q=calf")
    assert night["X-Page-Cache"] == calf["X-Page-Cache"] == "hit"
    assert "Night cramps" in night.content.decode() and "Calf strain" not in night.content.decode()
    assert "Calf strain" in calf.content.decode() and "Night cramps" not in calf.content.decode()


def test_not_found_and_errors_are_not_cached(client, site):
    for _ in range(2):
        response = client.get("/articles/no-such-article/")
        assert response.status_code == 404
    assert client.get("/articles/?page=99").status_code == 404
    assert not [key for key in _cache_keys() if key.startswith(pagecache.KEY_PREFIX)]


def test_post_to_a_public_page_is_not_cached(client, site):
    client.get("/")
    response = client.post("/", {})
    assert response.status_code == 405
    assert response["X-Page-Cache"] == "bypass"


@override_settings(PAGE_CACHE_ENABLED=False)
def test_the_cache_can_be_switched_off(client, site):
    client.get("/")
    response, queries = get_counting(client, "/")
    assert response["X-Page-Cache"] == "off" and queries > 0
    assert "ETag" in response and "public" in response["Cache-Control"]


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


# --- Headers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/articles/", "/articles/night-cramps/", "/team/", "/sitemap.xml"])
def test_public_pages_have_cache_headers(client, site, url):
    miss, hit = client.get(url), client.get(url)
    for response in (miss, hit):
        cache_control = response["Cache-Control"]
        assert "public" in cache_control and "max-age=300" in cache_control
        assert "private" not in cache_control and "no-store" not in cache_control
        assert response["ETag"].startswith('W/"') and response["Last-Modified"].endswith("GMT")
    assert miss["ETag"] == hit["ETag"]  # the nonce is not part of the ETag


def test_if_none_match_gets_304_with_no_query(client, site):
    etag = client.get("/articles/night-cramps/")["ETag"]
    response, queries = get_counting(client, "/articles/night-cramps/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and response.content == b""
    assert queries == 0
    assert response["ETag"] == etag and "public" in response["Cache-Control"]


def test_if_none_match_on_a_miss_gets_304(client, site):
    etag = client.get("/team/")["ETag"]
    cache.clear()
    response = client.get("/team/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304


def test_if_modified_since_gets_304(client, site):
    last_modified = client.get("/contact/")["Last-Modified"]
    assert client.get("/contact/", HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304


def test_a_changed_page_does_not_match_the_old_etag(client, site):
    etag = client.get("/articles/night-cramps/")["ETag"]
    site["article"].title = "Night cramps, updated"
    site["article"].save()
    response = client.get("/articles/night-cramps/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag


def test_hashed_static_files_are_served_immutable(client):
    from django.conf import settings

    from config.settings import STORAGES, WHITENOISE_MAX_AGE  # the production values (DEBUG off)

    assert STORAGES["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert WHITENOISE_MAX_AGE == 31536000
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE


def test_production_uses_the_cached_template_loader_and_persistent_connections():
    from django.conf import settings
    from django.template import engines

    loaders = engines["django"].engine.template_loaders
    assert [type(loader).__module__ + "." + type(loader).__name__ for loader in loaders] == [
        "django.template.loaders.cached.Loader"
    ]
    assert "loaders" not in settings.TEMPLATES[0]["OPTIONS"]
    if not settings.DEBUG:
        from config.settings import DATABASES

        assert DATABASES["default"]["CONN_MAX_AGE"] == 60
