"""A small clinic for the site-wide tests (headers, caching, speed), and a signed-in editor."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from tests.factories import (
    ArticleFactory,
    ArticleFAQFactory,
    ConditionFactory,
    TreatmentFactory,
    TreatmentFAQFactory,
    make_clinic,
    make_practitioner,
    make_service,
)


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
