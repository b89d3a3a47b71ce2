"""Findable: titles, meta descriptions, canonical links, Open Graph, JSON-LD, sitemap, robots.txt and the feed."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

import articles.content
import clinic.content
from articles.models import Article, Condition, Treatment
from clinic.models import Practitioner

pytestmark = pytest.mark.django_db

SITE = "http://127.0.0.1:8000"
SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    clinic.content.load(lambda m: None)
    articles.content.load(lambda m: None)


def json_ld_blocks(html):
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert blocks, "no JSON-LD on the page"
    return [json.loads(b) for b in blocks]


def by_type(blocks, type_):
    found = [b for b in blocks if b.get("@type") == type_]
    assert found, f"no {type_} in {[b.get('@type') for b in blocks]}"
    return found[0]


def meta(html, attr, name):
    match = re.search(rf'<meta {attr}="{re.escape(name)}" content="([^"]*)">', html)
    return match and match.group(1)


def canonical(html):
    match = re.search(r'<link rel="canonical" href="([^"]*)">', html)
    return match and match.group(1)


def test_home_has_medical_clinic_json_ld(client):
    html = client.get("/").content.decode()
    data = by_type(json_ld_blocks(html), "MedicalClinic")
    assert data["@context"] == "https://schema.org"
    assert data["name"] == "Northgate Muscle & Movement Clinic"
    assert data["telephone"] == "(416) 555-0134"
    assert data["address"]["@type"] == "PostalAddress"
    assert data["address"]["streetAddress"].startswith("218 Alder Crescent")
    days = {spec["dayOfWeek"] for spec in data["openingHoursSpecification"]}
    assert "https://schema.org/Monday" in days and "https://schema.org/Sunday" not in days
    assert canonical(html) == SITE + "/"
    assert "<title>Northgate Muscle &amp; Movement Clinic" in html
    assert meta(html, "name", "description")


def test_article_meta_tags_and_open_graph(client):
    article = Article.objects.get(slug="acupuncture-for-runners")
    html = client.get(article.get_absolute_url()).content.decode()
    url = SITE + article.get_absolute_url()
    assert f"<title>{article.title} | Northgate Muscle &amp; Movement Clinic</title>" in html
    assert meta(html, "name", "description") == article.meta_description
    assert canonical(html) == url
    assert meta(html, "property", "og:type") == "article"
    assert meta(html, "property", "og:title") == article.title
    assert meta(html, "property", "og:description") == article.meta_description
    assert meta(html, "property", "og:url") == url
    assert meta(html, "property", "article:published_time") == "2026-05-19T09:00:00-04:00"
    assert meta(html, "property", "article:modified_time")


def test_article_json_ld(client):
    article = Article.objects.get(slug="acupuncture-for-runners")
    blocks = json_ld_blocks(client.get(article.get_absolute_url()).content.decode())
    page = by_type(blocks, "MedicalWebPage")
    assert page["headline"] == article.title
    assert page["url"] == SITE + article.get_absolute_url()
    assert page["author"] == {
        "@type": "Person",
        "name": "Mei-Ling Tran",
        "jobTitle": "Registered Acupuncturist",
        "url": SITE + "/team/mei-ling-tran/",
        "honorificSuffix": "R.Ac, Dipl. Ac",
        "hasCredential": [
            {"@type": "EducationalOccupationalCredential", "name": "R.Ac"},
            {"@type": "EducationalOccupationalCredential", "name": "Dipl. Ac"},
        ],
    }
    assert page["reviewedBy"]["name"] == "Dr. Priya Raman"
    assert page["datePublished"] == "2026-05-19T09:00:00-04:00"
    assert page["dateModified"]
    assert page["lastReviewed"] == "2026-11-20"
    assert page["publisher"]["@type"] == "MedicalOrganization"
    assert page["publisher"]["name"] == "Northgate Muscle & Movement Clinic"
    assert {a["name"] for a in page["about"]} == {"Running strains", "Muscle cramps"}

    faq = by_type(blocks, "FAQPage")
    assert len(faq["mainEntity"]) == article.faqs.count()
    first = faq["mainEntity"][0]
    assert first["@type"] == "Question"
    assert first["name"] == article.faqs.first().question
    assert first["acceptedAnswer"]["@type"] == "Answer" and first["acceptedAnswer"]["text"]

    crumbs = by_type(blocks, "BreadcrumbList")["itemListElement"]
    assert [c["position"] for c in crumbs] == [1, 2, 3]
    assert [c["item"] for c in crumbs] == [SITE + "/", SITE + "/articles/", SITE + article.get_absolute_url()]
    assert crumbs[-1]["name"] == article.title


def test_treatment_and_condition_json_ld(client):
    html = client.get("/treatments/physiotherapy/").content.decode()
    blocks = json_ld_blocks(html)
    assert by_type(blocks, "MedicalWebPage")["about"] == {"@type": "MedicalTherapy", "name": "Physiotherapy"}
    assert len(by_type(blocks, "FAQPage")["mainEntity"]) == Treatment.objects.get(slug="physiotherapy").faqs.count()
    assert [c["name"] for c in by_type(blocks, "BreadcrumbList")["itemListElement"]] == [
        "Home",
        "Treatments",
        "Physiotherapy",
    ]
    assert meta(html, "name", "description") == Treatment.objects.get(slug="physiotherapy").meta_description
    assert canonical(html) == SITE + "/treatments/physiotherapy/"

    html = client.get("/conditions/running-strains/").content.decode()
    blocks = json_ld_blocks(html)
    assert by_type(blocks, "MedicalWebPage")["about"]["@type"] == "MedicalCondition"
    by_type(blocks, "BreadcrumbList")
    assert meta(html, "property", "og:title") == "Running strains"


def test_json_ld_is_escaped_inside_script(client):
    article = Article.objects.get(slug="acupuncture-for-runners")
    article.title = "Runners </script><script>alert(1)</script> & co"
    article.save()
    html = client.get(article.get_absolute_url()).content.decode()
    page = by_type(json_ld_blocks(html), "MedicalWebPage")
    assert page["headline"] == article.title  # parses back to exactly what staff typed
    assert "</script><script>alert(1)" not in html


def test_every_page_has_title_description_canonical_and_one_h1(client):
    urls = ["/", "/treatments/", "/articles/"]
    urls += [t.get_absolute_url() for t in Treatment.objects.all()]
    urls += [c.get_absolute_url() for c in Condition.objects.all()]
    urls += [a.get_absolute_url() for a in Article.objects.published()]
    titles = set()
    for url in urls:
        html = client.get(url).content.decode()
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()
        assert title, url
        titles.add(title)
        assert meta(html, "name", "description"), url
        assert canonical(html) == SITE + url, url
        assert meta(html, "property", "og:title"), url
        assert html.count("<h1") == 1, url
        for block in json_ld_blocks(html):
            assert block["@context"] == "https://schema.org", url
    assert len(titles) == len(urls)  # every page has its own title


def test_sitemap_lists_every_public_page_with_lastmod(client):
    draft = Article.objects.create(
        title="Draft", slug="a-draft", summary="x", body="x", author=Practitioner.objects.first()
    )
    scheduled = Article.objects.create(
        title="Later",
        slug="later",
        summary="x",
        body="x",
        author=Practitioner.objects.first(),
        status=Article.Status.PUBLISHED,
        published_at=timezone.now() + timedelta(days=1),
    )
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # noqa: S314  (our own response)
    entries = {
        u.find("sm:loc", SITEMAP_NS).text: getattr(u.find("sm:lastmod", SITEMAP_NS), "text", None)
        for u in root.findall("sm:url", SITEMAP_NS)
    }
    for path in ["/", "/treatments/", "/articles/", "/team/", "/contact/", "/privacy/"]:
        assert SITE + path in entries, path
    for article in Article.objects.published():
        loc = SITE + article.get_absolute_url()
        assert entries[loc] == timezone.localtime(article.updated).date().isoformat()
    for obj in [*Treatment.objects.all(), *Condition.objects.all()]:
        assert entries[SITE + obj.get_absolute_url()], obj
    for person in Practitioner.objects.active():
        assert SITE + person.get_absolute_url() in entries
    assert SITE + draft.get_absolute_url() not in entries
    assert SITE + scheduled.get_absolute_url() not in entries
    assert entries[SITE + "/articles/"]  # static pages carry lastmod too


def test_robots_txt(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    body = response.content.decode()
    assert "admin" not in body  # the admin's address is a secret: robots.txt would publish it
    assert "Disallow: /book/" in body
    assert re.search(r"^Sitemap: https?://\S+/sitemap\.xml$", body, re.M)


def test_feed_lists_published_articles(client):
    Article.objects.create(
        title="Draft post", slug="draft-post", summary="x", body="x", author=Practitioner.objects.first()
    )
    response = client.get("/articles/feed/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)  # noqa: S314  (our own response)
    items = root.findall("./channel/item")
    assert len(items) == Article.objects.published().count()
    titles = [i.find("title").text for i in items]
    assert "Draft post" not in titles
    newest = Article.objects.published().first()
    assert titles[0] == newest.title
    assert items[0].find("link").text.endswith(newest.get_absolute_url())
    assert items[0].find("pubDate").text
    assert "Northgate" in root.find("./channel/title").text
