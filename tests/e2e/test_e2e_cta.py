"""Where readers decide: a booking link after the introduction and at the end of articles and treatment pages,
and a header that leaves a phone's first screen to the page."""

import pytest
from playwright.sync_api import expect

from articles.models import Article, Treatment

FIRST_SCREEN = 844


def above_main(page):
    """Height of everything above <main> (announcement banner and header), in CSS pixels."""
    return page.evaluate("() => document.querySelector('main').getBoundingClientRect().top + window.scrollY")


@pytest.mark.parametrize("kind", ["article", "treatment"])
def test_booking_link_after_the_introduction_and_at_the_end(make_page, live_server, screenshot, kind):
    page = make_page()
    if kind == "article":
        item = Article.objects.published().filter(treatment__isnull=False).select_related("treatment").first()
        name = f"Book {item.treatment.name}"
    else:
        item = Treatment.objects.first()
        name = f"Book {item.name}"
    page.goto(live_server.url + item.get_absolute_url())
    links = page.get_by_role("link", name=name, exact=True)
    expect(links.first).to_be_visible()
    first, last = links.first.bounding_box(), links.last.bounding_box()
    lead = page.locator("main .lead").first.bounding_box()
    body = page.locator("main .prose").first.bounding_box()
    # One right after the introduction (before the body starts), one after the body.
    assert lead["y"] < first["y"] < body["y"], (lead, first, body)
    assert last["y"] > body["y"] + body["height"], (body, last)
    # The first one is within the first screen and a half on a phone.
    assert first["y"] < FIRST_SCREEN * 1.5, first
    screenshot(page, "cta")
    page.problems.assert_none()


@pytest.mark.parametrize("path", ["/", "/articles/", "/book/"])
def test_header_takes_at_most_a_quarter_of_a_phone_screen(make_page, live_server, path):
    page = make_page()
    page.goto(live_server.url + path)
    height = above_main(page)
    assert height <= FIRST_SCREEN / 4, (
        f"banner and header are {height:.0f}px of {FIRST_SCREEN}px ({height / FIRST_SCREEN:.0%})"
    )
    expect(page.get_by_role("link", name="Book an appointment").first).to_be_in_viewport()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
