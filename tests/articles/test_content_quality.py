"""The clinic's medical content keeps the rules a careful clinician would sign: every page reviewed,
sourced and current, the same trust block everywhere, and facts that agree with each other."""

import datetime
import json
import re
from pathlib import Path

import phonenumbers
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import resolve
from django.utils import timezone

import articles.content
import booking.content
import clinic.content
from articles import quality
from articles.models import Article, Condition, Treatment
from articles.trust import ReviewStatus, add_months
from booking.models import Booking, BookingStatus, Service
from clinic.models import ClinicProfile, Practitioner, dialable
from scripts.readability import grade, html_text
from tests.factories import ConditionFactory, PractitionerFactory

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
TODAY = datetime.date(2026, 11, 22)  # the content's review dates are checked against a fixed day
PATIENT_PAGES = [
    "/patients/fees-and-insurance/",
    "/patients/first-visit/",
    "/patients/cancellation-policy/",
    "/patients/accessibility/",
    "/patients/telehealth/",
]
JSON_LD = re.compile(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', re.S)
NEW_CONDITIONS = ["night-leg-cramps", "neck-and-shoulder-tension", "low-back-spasm"]


def quiet(msg):
    pass


@pytest.fixture
def frozen_today(monkeypatch):
    moment = timezone.make_aware(datetime.datetime.combine(TODAY, datetime.time(12)))
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return TODAY


@pytest.fixture
def site(frozen_today):
    """The whole site as a fresh install shows it."""
    clinic.content.load(quiet)
    articles.content.load(quiet)
    booking.content.load(quiet)


def pages_html(client):
    for page in quality.medical_pages():
        response = client.get(page.get_absolute_url())
        assert response.status_code == 200, page
        yield page, response.content.decode()


# --- the rules, on the real content -------------------------------------------------------------------------


def test_every_published_medical_page_meets_the_content_rules(site):
    pages = list(quality.medical_pages())
    assert len(pages) == Article.objects.published().count() + Treatment.objects.count() + Condition.objects.count()
    assert len(pages) >= 17
    assert {p.slug: quality.problems(p, TODAY) for p in pages if quality.problems(p, TODAY)} == {}


def test_pages_on_medication_pregnancy_or_warning_signs_are_reviewed_by_the_physician(site, client):
    physician = Practitioner.objects.get(is_clinical_reviewer=True)
    assert physician.credentials.startswith("MD") and physician.college == "cpso"
    assert not physician.sees_patients
    for page, html in pages_html(client):
        if quality.touches_clinical_topics(page):
            assert page.reviewer == physician, page
            assert "Medically reviewed by" in html, page


def test_every_medical_page_shows_the_same_trust_block_and_json_ld(site, client):
    for page, html in pages_html(client):
        block = html[html.index('class="trust-block"') :]
        assert page.author.name_with_credentials in block and page.reviewer.name_with_credentials in block
        assert f'datetime="{page.reviewed_on:%Y-%m-%d}"' in block and "Next review due" in block
        assert f'datetime="{page.next_review_on:%Y-%m-%d}"' in block
        refs = list(page.references.all())
        assert len(refs) >= 2
        for ref in refs:
            assert f'href="{ref.link}"' in block
            if ref.doi:
                assert f'href="https://doi.org/{ref.doi}"' in block
        assert "Get medical help first" in block and "call 911" in block.lower()
        assert f'href="#{page.red_flags_anchor}"' in block  # the page's own warning signs
        assert "not medical advice" in block
        data = [json.loads(m) for m in JSON_LD.findall(html)]
        medical = next(d for d in data if d.get("@type") == "MedicalWebPage")
        assert medical["lastReviewed"] == page.reviewed_on.isoformat()
        assert medical["reviewedBy"]["name"] == page.reviewer.name
        assert medical["author"]["name"] == page.author.name
        assert len(medical["citation"]) == len(refs)


def test_superseded_and_unsourced_references_are_gone(site):
    links = [r.link for p in quality.medical_pages() for r in p.references.all()]
    assert not any("CD001351" in link for link in links)  # the 2005 Cochrane back pain review, since split
    assert "https://doi.org/10.1002/14651858.CD013814" in links  # its 2020 chronic low back pain successor
    mayo = {
        (r.title, r.year)
        for p in quality.medical_pages()
        for r in p.references.all()
        if "muscle-cramp/symptoms-causes" in r.link
    }
    assert mayo == {("Muscle cramp: Symptoms and causes", None)}  # one page, cited one way
    bodies = " ".join(p.body for p in quality.medical_pages())
    assert "Health Canada" not in bodies  # the quinine warning we could not source now rests on NICE
    for page in quality.medical_pages():
        if "acupuncture" in page.body.lower() and re.search(r"low back pain|osteoarthritis", page.body):
            if page.slug not in ("physiotherapy", "muscle-spasms", "running-strains"):
                assert "NICE" in page.body, page.slug  # NICE's position stated where acupuncture evidence is


# --- the rules catch problems as staff edit --------------------------------------------------------------------


def test_problems_are_named_for_a_page_that_breaks_the_rules(frozen_today):
    author = PractitionerFactory()
    colleague = PractitionerFactory(title="Registered Massage Therapist")
    page = ConditionFactory(
        author=author,
        reviewer=colleague,
        reviewed_on=datetime.date(2025, 11, 1),
        body="A guaranteed cure: detox teas. Ask about medication.\n\n## Common causes\n\nMany.",
    )
    page.references.create(title="One source", publisher="NHS", url="https://www.nhs.uk/")
    found = quality.problems(page, TODAY)
    assert any("not reviewed by the physician" in p for p in found)
    assert "last reviewed more than 12 months ago" in found
    assert "fewer than 2 linked references" in found
    assert "no “When to see a doctor” section" in found
    assert "overclaiming words: cure, detox, guaranteed" in found

    page.reviewer = author
    assert "reviewed by its own author" in quality.problems(page, TODAY)
    with pytest.raises(ValidationError):
        page.full_clean()


def test_overclaim_words_are_whole_words():
    assert quality.overclaims("Results are not guaranteed; this is no cure.") == ["cure", "guaranteed"]
    assert quality.overclaims("Clinically proven detox plans") == ["clinically proven", "detox"]
    assert quality.overclaims("Secure, procured and accurate") == []


def test_review_is_due_twelve_months_after_the_last_one():
    assert add_months(datetime.date(2024, 2, 29), 12) == datetime.date(2025, 2, 28)
    assert add_months(datetime.date(2026, 1, 31), 1) == datetime.date(2026, 2, 28)
    page = Condition(reviewed_on=datetime.date(2025, 12, 10))
    assert page.next_review_on == datetime.date(2026, 12, 10)
    assert page.review_status(TODAY) == ReviewStatus.DUE_SOON
    assert page.review_status(datetime.date(2026, 11, 1)) == ReviewStatus.CURRENT
    assert page.review_status(datetime.date(2026, 12, 11)) == ReviewStatus.OVERDUE
    assert Condition().review_status(TODAY) == ReviewStatus.MISSING


def test_admin_warns_about_pages_coming_due(site, client):
    admin = User.objects.create_superuser("editor", "editor@clinic.example", "a-long-test-password")
    client.force_login(admin)
    Condition.objects.filter(slug="low-back-spasm").update(reviewed_on=datetime.date(2025, 12, 1))

    listing = client.get("/admin/articles/condition/").content.decode()
    assert "1 page needs its medical review soon or now: Low back spasm." in listing
    assert "Review due soon (next by" in listing
    due = client.get("/admin/articles/condition/?review=due_soon").content.decode()
    assert "Low back spasm" in due and "Night leg cramps" not in due

    index = client.get("/admin/").content.decode()
    assert "Medical reviews due" in index and "Low back spasm</a> – Review due soon" in index

    page = Condition.objects.get(slug="low-back-spasm")
    Condition.objects.filter(pk=page.pk).update(reviewed_on=datetime.date(2025, 10, 1))
    form = client.get(f"/admin/articles/condition/{page.pk}/change/").content.decode()
    assert "last reviewed more than 12 months ago" in form

    client.force_login(User.objects.create_user("desk", "desk@clinic.example", "a-long-test-password", is_staff=True))
    assert "Medical reviews due" not in client.get("/admin/").content.decode()  # only for those who edit pages


# --- practitioners' registration -------------------------------------------------------------------------------


def test_practitioner_pages_name_their_college_number_and_public_register(site, client):
    colleges = {
        "daniel-okafor": ("College of Physiotherapists of Ontario", "https://www.collegept.org/"),
        "sofia-lindqvist": ("College of Massage Therapists of Ontario", "https://www.cmto.com/"),
        "mei-ling-tran": ("Traditional Chinese Medicine Practitioners and Acupuncturists of Ontario", "ctcmpao.on.ca"),
        "priya-raman": ("College of Physicians and Surgeons of Ontario", "https://www.cpso.on.ca/"),
    }
    for slug, (college, register) in colleges.items():
        person = Practitioner.objects.get(slug=slug)
        assert re.fullmatch(r"\d{4,6}", person.registration_number)
        html = client.get(person.get_absolute_url()).content.decode()
        assert college in html and f"Registration number: <strong>{person.registration_number}</strong>" in html
        assert register in html and "public register" in html
        assert ("Book with" in html) == person.sees_patients


def test_the_physician_reviewer_cannot_be_booked(site, client):
    html = client.get("/book/?practitioner=priya-raman").content.decode()
    assert "Priya Raman" not in html
    assert not Service.objects.filter(practitioners__slug="priya-raman").exists()
    person = Practitioner.objects.get(slug="priya-raman")
    person.registration_number = ""
    with pytest.raises(ValidationError):
        person.full_clean()


# --- the patient pages -----------------------------------------------------------------------------------------


def test_patient_pages_are_linked_from_every_footer_and_read_plainly(site, client):
    footer = client.get("/").content.decode()
    for url in PATIENT_PAGES:
        assert f'href="{url}"' in footer
        response = client.get(url)
        assert response.status_code == 200
        text = html_text(response.content.decode())
        assert grade(text) <= 8, url
        assert not quality.overclaims(text), url


def test_cancellation_policy_states_the_window_the_booking_pages_enforce(site, client):
    assert settings.BOOKING_CANCEL_NOTICE_HOURS == 24
    assert "at least 24 hours' notice" in client.get("/patients/cancellation-policy/").content.decode()
    with override_settings(BOOKING_CANCEL_NOTICE_HOURS=48):
        cache.clear()  # a changed setting takes effect on restart, when the page cache starts cold
        html = client.get("/patients/cancellation-policy/").content.decode()
        assert "at least 48 hours' notice" in html and "24 hours" not in html
        assert "less than 48 hours' notice" in client.get("/patients/fees-and-insurance/").content.decode()
        # ...and it is the window the patient's booking page enforces.
        booking = Booking(status=BookingStatus.CONFIRMED, start=timezone.now() + datetime.timedelta(hours=30))
        assert not booking.patient_can_change()
    assert booking.patient_can_change()


def test_the_booking_form_states_the_late_cancellation_window_beside_the_consent(site, client):
    html = client.get("/book/").content.decode()
    note = html.index('id="cancel-window"')
    assert "Free to cancel or move up to 24 hours before" in html[note : note + 300]
    assert note < html.index('name="consent"') < note + 2000  # right before the consent box
    with override_settings(BOOKING_CANCEL_NOTICE_HOURS=48):
        cache.clear()
        assert "Free to cancel or move up to 48 hours before" in client.get("/book/").content.decode()


def test_fees_page_says_whether_insurers_are_billed_and_how_receipts_are_given(site, client):
    html = client.get("/patients/fees-and-insurance/").content.decode()
    assert "We do not bill insurance companies directly" in html
    assert "After every visit we email you a receipt" in html


def test_fees_page_lists_every_bookable_service_with_its_price(site, client):
    html = client.get("/patients/fees-and-insurance/").content.decode()
    for service in Service.objects.active():
        assert service.name in html and service.price_text in html
    assert "registration number" in html


# --- facts that must agree -------------------------------------------------------------------------------------


def test_banner_call_and_text_links_are_the_clinics_numbers(site, client):
    profile = ClinicProfile.objects.get()
    html = client.get("/").content.decode()
    banner = html[html.index('class="banner"') :].split("</div>", 1)[0]
    assert f'href="tel:{dialable(profile.phone)}"' in banner and profile.phone in banner
    assert f'href="sms:{dialable(profile.sms_number)}"' in banner and profile.sms_number in banner
    profile.banner_text = "Video visits are open. Call or text (416) 555-0199."
    with pytest.raises(ValidationError, match="not the clinic's phone or text number"):
        profile.full_clean()


def test_every_phone_number_in_the_content_is_the_clinics(site):
    profile = ClinicProfile.objects.get()
    own = {dialable(profile.phone): "call", dialable(profile.sms_number): "text"}
    files = [*ROOT.glob("articles/content/**/*.md"), *ROOT.glob("clinic/content/**/*.*")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in phonenumbers.PhoneNumberMatcher(text, settings.PHONE_REGION):
            number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            assert number in own, (path.name, match.raw_string)
            before = text[max(0, match.start - 30) : match.start].lower()
            if "call" in before and "text" not in before:
                assert own[number] == "call", (path.name, match.raw_string)  # calls go to the phone line


def test_every_visit_a_page_promises_can_be_booked(site):
    for treatment in Treatment.objects.all():
        services = Service.objects.active().filter(treatment=treatment)
        assert services.exists(), treatment.slug
        text = quality.page_text(treatment).lower()
        if "follow-up" in text:
            assert services.filter(slug__contains="follow-up").exists(), treatment.slug
        for minutes in re.findall(r"(\d+)-minute visit", text):
            assert services.filter(duration_minutes=int(minutes)).exists(), (treatment.slug, minutes)
        providers = set(treatment.practitioners.values_list("slug", flat=True))
        for service in services:
            assert set(service.practitioners.values_list("slug", flat=True)) <= providers, service.slug


def test_team_words_match_the_team(site):
    rmts = Practitioner.objects.bookable().filter(college="cmto").count()
    texts = " ".join(quality.page_text(p) for p in quality.medical_pages()).lower()
    if rmts < 2:
        assert "registered massage therapists" not in texts.replace("registered massage therapists,", "")
    # The myotherapist does not offer needling; pages say so and point to the physiotherapist who does.
    myotherapists = set(Treatment.objects.get(slug="myotherapy").practitioners.values_list("slug", flat=True))
    needlers = set(Treatment.objects.get(slug="dry-needling").practitioners.values_list("slug", flat=True))
    assert myotherapists and not myotherapists & needlers
    for slug in ("myotherapy-for-muscle-cramps",):
        body = Article.objects.get(slug=slug).body
        assert "Ours does not" in body and "(/treatments/dry-needling/)" in body


# --- coverage and links ----------------------------------------------------------------------------------------


def test_new_pages_exist_and_related_pages_link_to_each_other(site, client):
    assert Article.objects.published().filter(slug="acupuncture-for-muscle-cramps").exists()
    for slug in NEW_CONDITIONS:
        assert client.get(f"/conditions/{slug}/").status_code == 200
    for page in quality.medical_pages():
        links = re.findall(r"\]\((/[^)#]*)\)", page.body)
        if isinstance(page, Article):
            assert links, f"{page.slug} links to no other page in its text"
        for link in links:
            resolve(link)  # a typo raises Resolver404
            assert client.get(link).status_code == 200, (page.slug, link)


def test_load_content_is_one_idempotent_command(site):
    assert Condition.objects.count() == 6 and Article.objects.count() == 7
    assert Service.objects.filter(slug="physiotherapy-follow-up", treatment__slug="physiotherapy").exists()
    assert clinic.content.load(quiet) + articles.content.load(quiet) + booking.content.load(quiet) == 0


def test_editors_keep_every_page_types_references_and_see_reviews_due(site, client):
    from django.contrib.auth.models import Group

    editor = User.objects.create_user("ed", "ed@clinic.example", "a-long-test-password", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    for model in ("articlereference", "treatmentreference", "conditionreference"):
        for action in ("view", "add", "change", "delete"):
            assert editor.has_perm(f"articles.{action}_{model}"), (action, model)
    Treatment.objects.filter(slug="dry-needling").update(reviewed_on=datetime.date(2025, 11, 1))
    client.force_login(editor)
    index = client.get("/admin/").content.decode()
    assert "Dry needling</a> – Review overdue" in index
    page = Treatment.objects.get(slug="dry-needling")
    assert client.get(f"/admin/articles/treatment/{page.pk}/change/").status_code == 200
