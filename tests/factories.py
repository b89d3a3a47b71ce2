"""factory_boy factories for the clinic and articles tests."""

from datetime import timedelta

import factory
from django.utils import timezone

from articles.models import Article, ArticleFAQ, ArticleReference, Condition, Treatment, TreatmentFAQ
from clinic.models import ClinicProfile, Location, OpeningHours, Practitioner


class ClinicProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClinicProfile

    name = "Test Clinic"
    tagline = "Care for cramps and spasms."
    phone = "(416) 555-0100"
    sms_number = "(416) 555-0101"
    email = "hello@clinic.example"
    banner_text = "Video visits available."


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["slug"]

    name = "Main clinic"
    slug = "main"
    street = "1 Test Street"
    city = "Toronto"
    region = "ON"
    postal_code = "M4K 0A0"


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    name = factory.Sequence(lambda n: f"Practitioner {n}")
    slug = factory.Sequence(lambda n: f"practitioner-{n}")
    title = "Registered Physiotherapist"
    credentials = "PT, MScPT"
    summary = "Helps people move again."


class TreatmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Treatment

    name = factory.Sequence(lambda n: f"Treatment {n}")
    slug = factory.Sequence(lambda n: f"treatment-{n}")
    summary = "A treatment that may help."
    body = "## What it is\n\nA gentle treatment.\n\n## Who it may help\n\nSome people."
    meta_description = "About this treatment."


class TreatmentFAQFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentFAQ

    treatment = factory.SubFactory(TreatmentFactory)
    order = factory.Sequence(int)
    question = factory.Sequence(lambda n: f"Treatment question {n}?")
    answer = "A careful answer."


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Condition

    name = factory.Sequence(lambda n: f"Condition {n}")
    slug = factory.Sequence(lambda n: f"condition-{n}")
    summary = "A common problem."
    body = "## Common causes\n\nMany.\n\n## When to see a doctor\n\nIf it gets worse."


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Article number {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    summary = "A short summary of the article."
    body = "Intro paragraph.\n\n## First section\n\nSome words here.\n\n## When to see a doctor\n\nIf in doubt."
    meta_description = "Meta description of the article."
    author = factory.SubFactory(PractitionerFactory)
    status = Article.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    reviewed_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=1))

    @factory.post_generation
    def conditions(self, create, extracted, **kwargs):
        if create and extracted:
            self.conditions.add(*extracted)


class ArticleFAQFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArticleFAQ

    article = factory.SubFactory(ArticleFactory)
    order = factory.Sequence(int)
    question = factory.Sequence(lambda n: f"Article question {n}?")
    answer = "A careful answer."


class ArticleReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArticleReference

    article = factory.SubFactory(ArticleFactory)
    order = factory.Sequence(int)
    title = "Leg cramps"
    publisher = "NHS"
    year = 2023
    url = "https://www.nhs.uk/conditions/leg-cramps/"


def make_clinic():
    """The clinic's facts: profile, one location, weekday hours."""
    from datetime import time

    profile = ClinicProfileFactory()
    LocationFactory()
    for day in range(5):
        OpeningHours.objects.get_or_create(weekday=day, defaults={"opens": time(8), "closes": time(18)})
    OpeningHours.objects.get_or_create(weekday=6, defaults={"opens": None, "closes": None})
    return profile
