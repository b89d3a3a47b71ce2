"""The core names no app: what it needs from booking (links, robots rules, secret paths in logs) is
registered by the booking app itself."""

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from articles import services
from clinic import registry
from clinic.log_redaction import redact
from tests.factories import TreatmentFactory, make_clinic, make_practitioner, make_service

ROOT = Path(__file__).resolve().parents[2]


def test_the_booking_app_registers_its_page_rules():
    book = reverse("booking:request")
    assert registry.link("book") == book
    assert registry.link("book", treatment="acupuncture") == f"{book}?treatment=acupuncture"
    assert book in registry.robots_disallowed()
    token_path = reverse("booking:manage", kwargs={"token": "s3cr3t-token"})
    assert "s3cr3t-token" not in redact(f"GET {token_path} 200")


@pytest.mark.django_db
def test_home_page_offers_the_registered_booking_page_to_search_engines(client):
    make_clinic()
    html = client.get("/").content.decode()
    blocks = [json.loads(b) for b in re.findall(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', html, re.S)]
    actions = [b["potentialAction"] for b in blocks if "potentialAction" in b]
    assert actions and actions[0]["target"].endswith(reverse("booking:request"))


@pytest.mark.django_db
def test_a_treatments_services_come_from_the_booking_apps_query():
    _, location = make_clinic()
    treatment = TreatmentFactory()
    service = make_service([make_practitioner(location=location)], treatment=treatment)
    make_service([], slug="hidden", treatment=treatment, is_active=False)
    assert services.for_treatment(treatment) == [service]


def test_core_modules_and_templates_name_no_app_path():
    core = [p for p in (ROOT / "clinic").rglob("*.py") if "migrations" not in p.parts]
    for path in core:
        if path.name in ("settings.py", "urls.py"):
            continue  # the project's configuration lists the apps
        code = path.read_text()
        assert not re.search(r"""["'](booking|articles)[.:]""", code), path
        assert "Disallow: /book/" not in code and '"/book/' not in code, path
    for template in (ROOT / "templates").rglob("*.html"):
        assert 'href="/book/' not in template.read_text(), template
