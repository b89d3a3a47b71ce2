"""Query counts must not grow with the amount of content: 1 article and 30 articles cost the same.

The counts are for a warm cache (the clinic's facts are cached after the first request) and an anonymous
visitor. They are recorded in EXPECTED so a change that adds queries is a deliberate, visible decision.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article
from clinic import caching
from tests.factories import (
    ArticleFactory,
    ArticleFAQFactory,
    ArticleReferenceFactory,
    ConditionFactory,
    PractitionerFactory,
    TreatmentFactory,
    TreatmentFAQFactory,
    make_clinic,
)

pytestmark = pytest.mark.django_db


# Queries per page, warm cache, anonymous visitor (same on SQLite and PostgreSQL).
EXPECTED = {
    "home": 4,  # treatments, conditions, latest articles (+author, treatment), team
    "treatment": 7,  # treatment (+author, reviewer), its FAQs, conditions, references, practitioners; related
    "condition": 4,  # condition (+author, reviewer), its treatments, references; related articles
    "article_list": 3,  # treatments and conditions (filter options), count; the cards are a cached part
    "article": 0,  # the article (+author, reviewer, treatment) and the page's parts come from the shared cache
    "article_after_edit": 5,  # article (+author, reviewer, treatment), references, conditions, FAQs, related
}


def _add_articles(n, treatment, conditions, people):
    for i in range(n):
        article = ArticleFactory(
            treatment=treatment,
            conditions=conditions,
            author=people[i % len(people)],
            reviewer=people[(i + 1) % len(people)],
        )
        for _ in range(4):
            ArticleFAQFactory(article=article)
        for _ in range(2):
            ArticleReferenceFactory(article=article)


def _count(client, url, after_edit=False):
    client.get(url)  # warm the clinic facts cache
    if after_edit:
        caching.bump(caching.CONTENT)  # what a staff edit does: cached parts are rendered again
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _measure(client, treatment, condition, article):
    return {
        "home": _count(client, "/"),
        "treatment": _count(client, treatment.get_absolute_url()),
        "condition": _count(client, condition.get_absolute_url()),
        "article_list": _count(client, "/articles/"),
        "article": _count(client, article.get_absolute_url()),
        "article_after_edit": _count(client, article.get_absolute_url(), after_edit=True),
    }


def test_query_counts_do_not_depend_on_content_size(client):
    make_clinic()
    people = [PractitionerFactory() for _ in range(3)]
    treatments = [TreatmentFactory() for _ in range(2)]
    for t in treatments:
        t.practitioners.set(people)
        for _ in range(3):
            TreatmentFAQFactory(treatment=t)
    conditions = [ConditionFactory() for _ in range(3)]
    for c in conditions:
        c.treatments.set(treatments)
    treatment, condition = treatments[0], conditions[0]

    _add_articles(1, treatment, conditions[:2], people)
    article = treatment.articles.get()
    small = _measure(client, treatment, condition, article)

    _add_articles(19, treatment, conditions[:2], people)
    _add_articles(10, treatments[1], conditions[1:], people)
    assert Article.objects.count() == 30
    large = _measure(client, treatment, condition, article)

    print(f"\nqueries with 1 article: {small}\nqueries with 30 articles: {large}")
    assert small == large
    assert large == EXPECTED


def test_clinic_facts_are_not_queried_once_warm(client):
    make_clinic()
    client.get("/")
    with CaptureQueriesContext(connection) as ctx:
        client.get("/")
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "clinic_clinicprofile" not in sql and "clinic_openinghours" not in sql and "clinic_location" not in sql
