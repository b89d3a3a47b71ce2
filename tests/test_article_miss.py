"""What an article page costs when it is rendered without the page cache (a page-cache miss), and that the
cheaper render still shows every edit at once."""

import gzip

import pytest

from clinic import caching
from tests import test_caching

pytestmark = pytest.mark.django_db

site = test_caching.site  # the same small clinic as the page-cache tests (a fixture)
ARTICLE = "/articles/night-cramps/"
UNCACHED = ARTICLE + "?bench=uncached"  # a parameter the page does not read: rendered fresh, never stored


def _html(response):
    body = response.content
    return (gzip.decompress(body) if response.get("Content-Encoding") == "gzip" else body).decode()


@pytest.fixture
def cache_calls(monkeypatch):
    """The shared-cache operations a request makes, in order."""
    calls = []
    guarded = caching._guarded

    def counting(operation, default, *args):
        calls.append(operation)
        return guarded(operation, default, *args)

    monkeypatch.setattr(caching, "_guarded", counting)
    return calls


def test_a_miss_reads_the_article_fragments_and_clinic_facts_in_one_round_trip(client, site, cache_calls):
    client.get(UNCACHED)  # renders and stores the fragments
    cache_calls.clear()
    response = client.get(UNCACHED)
    assert response.status_code == 200
    # The page-cache lookup, then the article, the content version, every fragment and the clinic's facts.
    assert cache_calls == ["get_many", "get_many"]


def test_a_stale_fragment_is_rendered_again_and_stored(client, site, cache_calls):
    client.get(UNCACHED)
    site["article"].title = "Cramps at night"
    site["article"].save()
    cache_calls.clear()
    html = _html(client.get(UNCACHED))
    assert "Cramps at night" in html and "Night cramps" not in html
    assert cache_calls.count("set") >= 3  # the fragments are stored again under the new version
    cache_calls.clear()
    html = _html(client.get(UNCACHED))
    assert "Cramps at night" in html and "set" not in cache_calls  # read from the fragments just stored


def test_publishing_or_unpublishing_in_bulk_shows_at_once_in_related_cards(client, site):
    from articles.models import Article
    from tests.factories import ArticleFactory

    other = ArticleFactory(slug="calf-stretches", title="Calf stretches", treatment=site["treatment"])
    assert "Calf stretches" in _html(client.get(UNCACHED))  # a related card, now in a cached fragment
    Article.objects.filter(pk=other.pk).unpublish()  # the admin action: a bulk update, no save signal
    assert "Calf stretches" not in _html(client.get(UNCACHED))
    Article.objects.filter(pk=other.pk).publish()
    assert "Calf stretches" in _html(client.get(UNCACHED))


def test_an_edit_to_the_clinic_facts_shows_at_once_on_an_article_page(client, site):
    client.get(UNCACHED)
    profile = site["profile"]
    profile.phone = "(416) 555-0199"
    profile.save()
    html = _html(client.get(UNCACHED))
    assert html.count("(416) 555-0199") >= 2  # header and footer (both cached fragments)


def test_an_edit_to_the_article_shows_at_once_in_the_page_head(client, site):
    client.get(UNCACHED)  # the head's tags are now a cached fragment
    article = site["article"]
    article.meta_description = "Why calves cramp at night, and what may help."
    article.save()
    html = _html(client.get(UNCACHED))
    assert '<meta name="description" content="Why calves cramp at night, and what may help.">' in html
    assert '<meta property="og:description" content="Why calves cramp at night, and what may help.">' in html
    assert html.count("Why calves cramp at night") == 3  # + the JSON-LD description


def test_a_staff_preview_is_noindex_even_when_the_public_head_was_cached(client, site, staff_client):
    from articles.models import Article

    client.get(UNCACHED)  # the public article and its head are in the shared cache
    article = site["article"]
    article.status = Article.Status.DRAFT
    article.save()
    assert client.get(UNCACHED).status_code == 404  # unpublished: gone at once
    preview = staff_client.get(ARTICLE).content.decode()
    assert '<meta name="robots" content="noindex">' in preview and "Draft preview" in preview


def test_edits_to_the_author_and_treatment_show_at_once(client, site):
    client.get(UNCACHED)  # the article, its author and treatment are in the shared cache
    pat = site["pat"]
    pat.credentials = "R.Ac, MSc"
    pat.save()
    treatment = site["treatment"]
    treatment.name = "Medical acupuncture"
    treatment.save()
    html = _html(client.get(UNCACHED))
    assert "Pat Lee, R.Ac, MSc" in html and '"honorificSuffix":"R.Ac, MSc"' in html
    assert '<meta property="article:section" content="Medical acupuncture">' in html
    assert "Book Medical acupuncture" in html


def test_a_scheduled_article_appears_when_its_time_comes_and_not_before(client, site):
    from datetime import timedelta

    from django.utils import timezone

    from articles.models import Article
    from tests.factories import ArticleFactory

    soon = ArticleFactory(slug="coming-soon", title="Coming soon", published_at=timezone.now() + timedelta(hours=1))
    assert client.get("/articles/coming-soon/?bench=uncached").status_code == 404
    Article.objects.filter(pk=soon.pk).update(published_at=timezone.now() - timedelta(seconds=1))  # time passed
    assert client.get("/articles/coming-soon/?bench=uncached").status_code == 200


@pytest.fixture
def staff_client(db):
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_superuser("editor", "editor@clinic.example", "a-long-test-password")
    staff = Client()
    staff.force_login(user)
    return staff
