"""Query counts that do not grow with the data: every public page and every admin list, measured with a little
and with a lot of content. (A hit in nginx or a CDN never reaches Django at all.)

tests/articles/test_queries.py pins the exact numbers for the article pages; here every other public page and
every admin changelist must cost the same at both sizes.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from booking.models import BookingStatus
from tests.factories import (
    ArticleFactory,
    ArticleFAQFactory,
    ArticleReferenceFactory,
    ConditionFactory,
    TreatmentFactory,
    TreatmentFAQFactory,
    make_booking,
    make_clinic,
    make_practitioner,
    make_service,
)

pytestmark = pytest.mark.django_db

# Queries per page when rendered (warm clinic facts, anonymous visitor).
EXPECTED = {
    "/": 4,
    "/treatments/": 2,
    "/treatments/acupuncture/": 7,  # + the trust block's references
    "/conditions/muscle-cramps/": 4,  # + the trust block's references
    "/articles/": 3,  # filter options, count; the cards are a cached part (4 when cold)
    "/articles/?q=cramps": 4,  # a search renders its cards every time
    "/articles/?treatment=acupuncture&condition=muscle-cramps": 3,
    "/articles/?page=2": 3,
    "/articles/night-cramps/": 0,  # 5 after a staff edit (tests/articles/test_queries.py): the rest is in cached parts
    "/articles/feed/": 1,
    "/sitemap.xml": 10,  # one query per sitemap section, and their lastmod
    "/team/": 2,
    "/team/pat/": 2,
    "/contact/": 0,  # only the clinic's facts, from the cache
    "/privacy/": 0,
}
PAGES = list(EXPECTED)


class Data:
    def __init__(self):
        _, self.location = make_clinic()
        self.pat = make_practitioner("Pat Lee", slug="pat", location=self.location)
        self.treatment = TreatmentFactory(name="Acupuncture", slug="acupuncture")
        self.condition = ConditionFactory(name="Muscle cramps", slug="muscle-cramps")
        self.condition.treatments.add(self.treatment)
        self.service = make_service([self.pat])
        self.service.treatment = self.treatment
        self.service.save()
        self.article = ArticleFactory(
            slug="night-cramps", title="Night cramps", treatment=self.treatment, conditions=[self.condition]
        )
        self.n = 0
        self.grow(11)  # two pages of articles at the small size too

    def grow(self, articles, people=1, bookings=2):
        extra = [
            make_practitioner(f"Person {self.n} {i}", slug=f"p{self.n}-{i}", location=self.location)
            for i in range(people)
        ]
        self.treatment.practitioners.add(self.pat, *extra)
        self.service.practitioners.add(*extra)
        TreatmentFAQFactory(treatment=self.treatment)
        for i in range(articles):
            article = ArticleFactory(
                title=f"Cramps note {self.n}-{i}",
                treatment=self.treatment,
                conditions=[self.condition],
                author=(extra or [self.pat])[i % len(extra or [self.pat])],
                reviewer=self.pat,
            )
            ArticleFAQFactory(article=article)
            ArticleReferenceFactory(article=article)
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=400 + self.n)
        for i in range(bookings):
            make_booking(
                extra[i % len(extra)] if extra else self.pat,
                self.service,
                start + timedelta(hours=i),
                status=BookingStatus.REQUESTED if i % 2 else BookingStatus.CONFIRMED,
                location=self.location,
            )
        self.n += 1


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _rendered(client, settings):
    counts = {}
    for url in PAGES:
        client.get(url)  # warm the clinic facts
        counts[url] = _queries(client, url)
    return counts


def test_public_pages_cost_the_same_with_more_content(client, settings):
    data = Data()
    small = _rendered(client, settings)
    data.grow(40, people=6, bookings=30)
    large = _rendered(client, settings)
    print(f"\nqueries per page, small: {small}\nlarge: {large}")
    assert small == large
    assert large == EXPECTED


def _changelists():
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
        if model._meta.app_label in {"clinic", "articles", "booking"}
    ]


def _admin_counts(client, urls):
    counts = {}
    for url in urls:
        client.get(url)  # warm
        counts[url] = _queries(client, url)
    return counts


def test_admin_lists_cost_the_same_with_more_rows():
    data = Data()
    user = User.objects.create_superuser("boss", "boss@clinic.example", "a-long-test-password")
    client = Client()
    client.force_login(user)
    urls = _changelists()
    assert len(urls) >= 8
    small = _admin_counts(client, urls)
    data.grow(40, people=6, bookings=60)
    large = _admin_counts(client, urls)
    print(f"\nadmin queries, small: {small}\nlarge: {large}")
    assert small == large
