"""Steps a patient takes on the site, shared by the browser flows."""

import re

from playwright.sync_api import expect

from articles.models import Article
from booking.models import Booking

PATIENT = {"name": "Alex Rivera", "email": "alex.rivera@example.com", "phone": "416 555 0123"}
CONFIRMATION_PATH = re.compile(r"/book/manage/[^/]+/$")


def article_on_home_with_treatment(page):
    """The first of the home page's latest articles that is about a treatment (so it has a "Book …" link)."""
    hrefs = page.locator("section[aria-labelledby=articles-heading] h3 a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    for href in hrefs:
        slug = href.rstrip("/").rsplit("/", 1)[-1]
        article = Article.objects.filter(slug=slug, treatment__isnull=False).select_related("treatment").first()
        if article:
            return href, article
    raise AssertionError(f"none of the home page's latest articles is about a treatment: {hrefs}")


def home_to_article(page, base_url):
    page.goto(base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    href, article = article_on_home_with_treatment(page)
    page.locator(f"section[aria-labelledby=articles-heading] a[href='{href}']").click()
    expect(page).to_have_url(base_url + href)
    expect(page.get_by_role("heading", level=1)).to_have_text(article.title)
    return article


def follow_book_link(page, article):
    link = page.get_by_role("link", name=f"Book {article.treatment.name}", exact=True).first
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(re.compile(r"/book/\?treatment=" + re.escape(article.treatment.slug) + "$"))
    expect(page.locator("#id_service option:checked")).not_to_have_text("Choose a service")


def later_dates(page, *, js=True):
    """Page the picker to later dates: in place with JavaScript, by a reload that lands on #times without it.

    Returns the first day now shown (its legend)."""
    button = page.locator("#picker-later")
    if js:
        with page.expect_response(lambda r: ("/times/" in r.url or "fragment=1" in r.url) and r.status == 200):
            button.click()
        expect(page.locator("#picker-region")).not_to_have_attribute("aria-busy", "true")
    else:
        button.click()
        expect(page).to_have_url(re.compile(r"#times$"))
    return page.locator(".picker-day legend").first.inner_text()


def choose_time_on_day(page, day_index=0, time_index=0):
    """Press a time under a given day; returns (the day's legend, the time's text, the slot value)."""
    day = page.locator(".picker-day").nth(day_index)
    legend = day.locator("legend").inner_text()
    label = day.locator(".slot-list label").nth(time_index)
    radio = label.locator("input[name=slot]")
    label.click()
    expect(radio).to_be_checked()
    return legend, label.locator(".slot-time").inner_text().strip(), radio.get_attribute("value")


def choose_time(page, index=0):
    radios = page.locator("input[name=slot]")
    expect(radios.first).to_be_visible()
    radio = radios.nth(index)
    page.locator(f"label[for='{radio.get_attribute('id')}']").click()
    expect(radio).to_be_checked()
    return radio.get_attribute("value")


def fill_details(page, **overrides):
    details = {**PATIENT, **overrides}
    page.locator("#id_name").fill(details["name"])
    page.locator("#id_email").fill(details["email"])
    page.locator("#id_phone").fill(details["phone"])
    page.get_by_role("radio", name="Email", exact=True).check()
    page.get_by_role("radio", name="New patient").check()
    page.locator("#id_reason").fill("Calf cramps at night")
    page.get_by_role("checkbox", name=re.compile("I have read the privacy notice")).check()
    return details


def send(page):
    page.get_by_role("button", name="Send my request").click()


def assert_confirmation(page):
    """The confirmation page shows the saved booking's reference; returns the booking."""
    expect(page).to_have_url(CONFIRMATION_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you — we have your request")
    reference = page.locator(".lead strong").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{3}-[A-Z2-9]{3}", reference), reference
    booking = Booking.objects.select_related("service", "practitioner").get(reference=reference)
    expect(page.locator(".summary-list")).to_contain_text(booking.service.name)
    expect(page.locator(".status")).to_have_text("Requested")
    return booking


def book(page, base_url, query="", *, time_index=0):
    """A complete request from /book/<query>; returns the booking and its page's URL."""
    page.goto(base_url + "/book/" + query)
    slot = choose_time(page, time_index)
    fill_details(page)
    send(page)
    booking = assert_confirmation(page)
    return booking, slot, page.url
