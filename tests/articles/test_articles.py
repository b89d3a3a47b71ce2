"""Articles, treatments and conditions: what the public and staff see, the content loader, search and admin."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

import articles.content
import clinic.content
from articles.models import Article, ArticleFAQ, ArticleReference, Condition, Treatment, count_words
from articles.search import MAX_QUERY_LENGTH, search_articles
from clinic.models import ClinicProfile, Practitioner
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


def quiet(msg):
    pass


@pytest.fixture
def site_content():
    """The clinic's real content, loaded as `make run` does (without the booking app's part)."""
    clinic.content.load(quiet)
    articles.content.load(quiet)


@pytest.fixture
def clinic_facts():
    return make_clinic()


@pytest.fixture
def staff_client(client):
    user = User.objects.create_user("editor", "editor@clinic.example", "a-long-test-password", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(user)
    return client


# --- URLs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs", "path"),
    [
        ("articles:home", {}, "/"),
        ("articles:treatment_list", {}, "/treatments/"),
        ("articles:treatment_detail", {"slug": "acupuncture"}, "/treatments/acupuncture/"),
        ("articles:condition_detail", {"slug": "muscle-cramps"}, "/conditions/muscle-cramps/"),
        ("articles:article_list", {}, "/articles/"),
        ("articles:feed", {}, "/articles/feed/"),
        ("articles:article_detail", {"slug": "some-article"}, "/articles/some-article/"),
        ("articles:sitemap", {}, "/sitemap.xml"),
    ],
)
def test_urls_reverse_and_resolve(name, kwargs, path):
    assert reverse(name, kwargs=kwargs) == path
    match = resolve(path)
    assert f"{match.namespace}:{match.url_name}" == name
    assert {k: v for k, v in match.kwargs.items() if k != "sitemaps"} == kwargs


def test_model_urls():
    treatment = TreatmentFactory(slug="acupuncture")
    condition = ConditionFactory(slug="muscle-cramps")
    article = ArticleFactory(slug="a-title")
    assert treatment.get_absolute_url() == "/treatments/acupuncture/"
    assert condition.get_absolute_url() == "/conditions/muscle-cramps/"
    assert article.get_absolute_url() == "/articles/a-title/"


# --- Published filter and staff preview ------------------------------------------------------------------------


def test_published_is_the_only_public_filter():
    live = ArticleFactory()
    ArticleFactory(status=Article.Status.DRAFT)
    ArticleFactory(published_at=timezone.now() + timedelta(days=2))
    ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    ArticleFactory(status=Article.Status.PUBLISHED, published_at=None)
    assert list(Article.objects.published()) == [live]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": Article.Status.DRAFT},
        {"published_at": None, "status": Article.Status.DRAFT},
        {"published_at": "future"},
    ],
    ids=["draft", "undated-draft", "scheduled"],
)
def test_unpublished_article_is_404_for_public_and_preview_for_staff(staff_client, clinic_facts, kwargs):
    if kwargs.get("published_at") == "future":
        kwargs = {"published_at": timezone.now() + timedelta(days=3)}
    article = ArticleFactory(title="Secret plans", **kwargs)
    url = article.get_absolute_url()

    # The public (a separate client: staff_client is logged in): not found anywhere.
    public = Client()
    assert public.get(url).status_code == 404
    assert "Secret plans" not in public.get("/articles/").content.decode()
    assert "Secret plans" not in public.get("/").content.decode()
    assert "Secret plans" not in public.get("/articles/feed/").content.decode()
    assert url not in public.get("/sitemap.xml").content.decode()

    # Staff with view permission: the page, marked as a preview, not indexed and not cached.
    response = staff_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Draft preview" in html
    assert '<meta name="robots" content="noindex">' in html
    cache_control = response["Cache-Control"]
    assert "no-cache" in cache_control and "no-store" in cache_control and "private" in cache_control
    assert "noindex" in response["X-Robots-Tag"]


def test_staff_without_view_permission_get_404(client):
    user = User.objects.create_user("clerk", "c@clinic.example", "a-long-test-password", is_staff=True)
    client.force_login(user)
    article = ArticleFactory(status=Article.Status.DRAFT)
    assert client.get(article.get_absolute_url()).status_code == 404


def test_public_article_has_no_preview_marks(client, clinic_facts):
    article = ArticleFactory()
    response = client.get(article.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Draft preview" not in html
    assert 'name="robots"' not in html
    assert "no-store" not in response.get("Cache-Control", "")


def test_unknown_slugs_are_404(client):
    assert client.get("/articles/no-such-article/").status_code == 404
    assert client.get("/treatments/no-such-treatment/").status_code == 404
    assert client.get("/conditions/no-such-condition/").status_code == 404


# --- Model behaviour -----------------------------------------------------------------------------------------------


def test_reading_time_and_word_count():
    article = ArticleFactory(body="word " * 660)
    assert article.word_count == 660
    assert article.reading_time == 3
    assert ArticleFactory(body="Short.").reading_time == 1
    # Link targets are not words read.
    assert count_words("[the NHS page](https://www.nhs.uk/conditions/leg-cramps/)") == 3


def test_body_html_and_toc():
    article = ArticleFactory(
        body="Intro.\n\n## Causes\n\nText.\n\n### Night cramps\n\nMore.\n\n## When to see a doctor\n\nSoon."
    )
    html, toc = article.body_html_and_toc
    assert '<h2 id="causes">Causes</h2>' in html
    assert [t["name"] for t in toc] == ["Causes", "When to see a doctor"]
    assert toc[0]["children"] == [{"id": "night-cramps", "name": "Night cramps"}]


def test_hero_image_needs_alt_text(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    article = ArticleFactory.build(author=PractitionerFactory())
    article.hero_image = SimpleUploadedFile("hero.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif")
    with pytest.raises(ValidationError) as excinfo:
        article.clean()
    assert "hero_alt" in excinfo.value.message_dict
    article.hero_alt = "A physiotherapist stretching a runner's calf."
    article.clean()


def test_reserved_slug_rejected():
    article = ArticleFactory.build(slug="feed", author=PractitionerFactory())
    with pytest.raises(ValidationError) as excinfo:
        article.clean()
    assert "slug" in excinfo.value.message_dict


def test_related_articles_same_treatment_or_shared_condition_published_only():
    treatment, other = TreatmentFactory(), TreatmentFactory()
    cramps, spasms = ConditionFactory(), ConditionFactory()
    article = ArticleFactory(treatment=treatment, conditions=[cramps])
    same_treatment = ArticleFactory(treatment=treatment, published_at=timezone.now() - timedelta(days=3))
    shared_condition = ArticleFactory(treatment=other, conditions=[cramps, spasms])
    ArticleFactory(treatment=other, conditions=[spasms])  # unrelated
    ArticleFactory(treatment=treatment, status=Article.Status.DRAFT)  # not public
    ArticleFactory(treatment=treatment, published_at=timezone.now() + timedelta(days=1))  # not yet
    related = article.related_articles()
    assert related == [shared_condition, same_treatment]
    for _ in range(4):
        ArticleFactory(treatment=treatment)
    assert len(article.related_articles()) == 3
    assert article not in article.related_articles()


def test_publish_and_unpublish_queryset():
    draft = ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    scheduled_draft = ArticleFactory(status=Article.Status.DRAFT, published_at=timezone.now() + timedelta(days=5))
    assert Article.objects.filter(pk__in=[draft.pk, scheduled_draft.pk]).publish() == 2
    draft.refresh_from_db()
    scheduled_draft.refresh_from_db()
    assert draft.status == Article.Status.PUBLISHED and draft.published_at is not None
    assert scheduled_draft.published_at > timezone.now()  # keeps its date: still scheduled
    assert list(Article.objects.published()) == [draft]
    assert Article.objects.filter(pk=draft.pk).unpublish() == 1
    assert not Article.objects.published().exists()


# --- Content loader -------------------------------------------------------------------------------------------


def test_load_content_creates_everything_once(site_content):
    assert Treatment.objects.count() == 4
    assert Condition.objects.count() == 6
    assert Article.objects.published().count() >= 6
    for article in Article.objects.all():
        assert article.faqs.count() >= 4, article.slug
        assert article.references.count() >= 2, article.slug
        assert article.author_id and article.reviewer_id and article.treatment_id
        assert article.conditions.exists()
        local = timezone.localtime(article.published_at)
        assert (local.hour, local.minute) == (9, 0)
    acupuncture = Treatment.objects.get(slug="acupuncture")
    assert acupuncture.faqs.count() >= 4
    assert list(acupuncture.practitioners.values_list("slug", flat=True)) == ["mei-ling-tran"]
    assert set(Condition.objects.get(slug="muscle-cramps").treatments.values_list("slug", flat=True)) == {
        "physiotherapy",
        "myotherapy",
        "acupuncture",
    }


def test_load_content_is_idempotent_and_keeps_staff_edits(site_content):
    counts = [m.objects.count() for m in (Treatment, Condition, Article, ArticleFAQ, ArticleReference)]
    article = Article.objects.get(slug="acupuncture-for-muscle-spasms")
    article.title = "Edited by staff"
    article.save()
    treatment = Treatment.objects.get(slug="myotherapy")
    treatment.summary = "Staff summary"
    treatment.save()
    article.faqs.first().delete()

    messages = []
    assert articles.content.load(messages.append) == 0
    assert messages == ["articles: 0 new rows"]
    assert Article.objects.get(slug="acupuncture-for-muscle-spasms").title == "Edited by staff"
    assert Treatment.objects.get(slug="myotherapy").summary == "Staff summary"
    assert article.faqs.count() == 4  # the deleted FAQ is not recreated
    assert [m.objects.count() for m in (Treatment, Condition, Article)] == counts[:3]


def test_load_links_practitioners_only_to_treatments_without_any(site_content):
    physio = Treatment.objects.get(slug="physiotherapy")
    physio.practitioners.set([Practitioner.objects.get(slug="sofia-lindqvist")])  # staff choice
    articles.content.load(quiet)
    assert list(physio.practitioners.values_list("slug", flat=True)) == ["sofia-lindqvist"]


def test_load_never_relinks_practitioners_staff_removed(site_content):
    physio = Treatment.objects.get(slug="physiotherapy")
    physio.practitioners.clear()  # staff: nobody offers it for now
    articles.content.load(quiet)
    assert not physio.practitioners.exists()


def test_every_content_file_parses():
    from clinic.content import read_front_matter

    files = sorted(articles.content.CONTENT_DIR.glob("*/*.md"))
    assert len(files) >= 13
    for path in files:
        meta, body = read_front_matter(path)
        assert meta["slug"] and body.strip(), path


# --- Pages with the real content ------------------------------------------------------------------------------------


def test_home_page(client, site_content):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    assert 'href="/book/"' in html and "Book an appointment" in html
    assert 'href="/book/?visit=telehealth"' in html
    for slug in ("acupuncture", "physiotherapy", "myotherapy", "dry-needling"):
        assert f'href="/treatments/{slug}/"' in html
    assert 'href="/conditions/muscle-cramps/"' in html
    assert html.count('<li class="card">\n  <h3><a href="/articles/') == 3  # latest three articles
    assert 'href="/team/mei-ling-tran/"' in html
    profile = ClinicProfile.objects.get()
    assert f'href="{profile.phone_href}"' in html and f'href="{profile.sms_href}"' in html  # tap to call / text
    assert "218 Alder Crescent" in html
    assert "MedicalClinic" in html


def test_treatment_list_page(client, site_content):
    html = client.get("/treatments/").content.decode()
    assert html.count("<h1") == 1
    for treatment in Treatment.objects.all():
        assert treatment.name in html and treatment.get_absolute_url() in html


def test_treatment_page(client, site_content):
    response = client.get("/treatments/acupuncture/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    assert "<h1>Acupuncture</h1>" in html
    assert "What a visit is like" in html and "Who it may help" in html
    assert 'href="/book/?treatment=acupuncture"' in html and "Book Acupuncture" in html
    assert "How many sessions will I need?" in html  # FAQ
    assert 'href="/team/mei-ling-tran/"' in html  # practitioner
    assert 'href="/articles/acupuncture-for-muscle-spasms/"' in html  # related article
    assert 'href="/conditions/muscle-spasms/"' in html
    assert response.context["services"] == []


def test_condition_page(client, site_content):
    response = client.get("/conditions/muscle-cramps/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    assert "Common causes" in html and "When to see a doctor" in html
    assert "Treatments that may help" in html and 'href="/treatments/physiotherapy/"' in html
    assert 'href="/articles/muscle-cramps-causes-self-care/"' in html


def test_article_page(client, site_content):
    article = Article.objects.get(slug="acupuncture-for-muscle-spasms")
    response = client.get(article.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    assert f"{article.reading_time} minute read" in html
    assert 'By <a href="/team/mei-ling-tran/" rel="author">Mei-Ling Tran, R.Ac, Dipl. Ac</a>' in html
    assert 'Medically reviewed by <a href="/team/priya-raman/">Dr. Priya Raman, MD, CCFP (SEM)</a>' in html
    # Dates in the clinic's time zone (America/Toronto: 09:00 EDT on publication day).
    assert '<time datetime="2026-04-14T09:00:00-04:00">' in html
    assert '<time datetime="2026-11-20">' in html
    assert "Last reviewed" in html
    # Table of contents linking to the headings.
    assert 'class="toc"' in html and 'href="#when-to-see-a-doctor"' in html and 'id="when-to-see-a-doctor"' in html
    assert html.count('class="faq-item"') == article.faqs.count()
    assert "References" in html and "https://www.nccih.nih.gov/health/acupuncture-what-you-need-to-know" in html
    assert 'href="/book/?treatment=acupuncture"' in html and "Book Acupuncture" in html
    assert "not medical advice" in html and "see a doctor" in html
    related = response.context["related_articles"]()
    assert 1 <= len(related) <= 3
    assert article not in related
    assert 'aria-current="page"' in html


def test_every_public_page_renders_with_content(client, site_content):
    urls = ["/", "/treatments/", "/articles/", "/articles/feed/", "/sitemap.xml"]
    urls += [t.get_absolute_url() for t in Treatment.objects.all()]
    urls += [c.get_absolute_url() for c in Condition.objects.all()]
    urls += [a.get_absolute_url() for a in Article.objects.published()]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 1000, url


def test_pages_have_no_inline_styles_or_inline_scripts_but_json_ld(client, site_content):
    for url in [
        "/",
        "/treatments/acupuncture/",
        "/conditions/muscle-spasms/",
        "/articles/",
        "/articles/acupuncture-for-runners/",
    ]:
        response = client.get(url)
        html = response.content.decode()
        assert "style=" not in html and "<style" not in html, url
        for tag in re.findall(r"<script[^>]*>", html):
            assert tag == '<script type="application/ld+json">' or 'src="/static/' in tag, (url, tag)


# --- Article list: pagination, filters and search -----------------------------------------------------------------


@pytest.fixture
def many_articles(clinic_facts):
    acupuncture = TreatmentFactory(name="Acupuncture", slug="acupuncture")
    physio = TreatmentFactory(name="Physiotherapy", slug="physiotherapy")
    cramps = ConditionFactory(name="Muscle cramps", slug="muscle-cramps")
    now = timezone.now()
    made = []
    for i in range(23):
        made.append(
            ArticleFactory(
                title=f"Numbered article {i:02d}",
                treatment=acupuncture if i % 2 else physio,
                conditions=[cramps] if i % 3 == 0 else [],
                published_at=now - timedelta(hours=i + 1),
            )
        )
    return made


def test_list_paginates_ten_a_page_newest_first(client, many_articles):
    page1 = client.get("/articles/")
    assert [a.title for a in page1.context["articles"]] == [f"Numbered article {i:02d}" for i in range(10)]
    html = page1.content.decode()
    assert "Page 1 of 3" in html and 'href="?page=2"' in html
    page3 = client.get("/articles/?page=3")
    assert len(page3.context["articles"]) == 3
    assert '<link rel="canonical" href="http://127.0.0.1:8000/articles/?page=3">' in page3.content.decode()


@pytest.mark.parametrize("page", ["99", "0", "-1", "abc", "1.5", "9" * 40])
def test_bad_page_numbers_never_500(client, many_articles, page):
    assert client.get("/articles/", {"page": page}).status_code in (200, 404)


def test_list_filters(client, many_articles):
    response = client.get("/articles/?treatment=acupuncture")
    assert response.context["paginator"].count == 11
    assert all(a.treatment.slug == "acupuncture" for a in response.context["articles"])
    response = client.get("/articles/?condition=muscle-cramps")
    assert response.context["paginator"].count == 8
    response = client.get("/articles/?condition=muscle-cramps&treatment=physiotherapy")
    assert response.context["paginator"].count == 4  # i in 0, 6, 12, 18
    html = response.content.decode()
    assert '<option value="physiotherapy" selected>' in html
    # Filters survive pagination links.
    response = client.get("/articles/?treatment=physiotherapy")
    assert 'href="?treatment=physiotherapy&amp;page=2"' in response.content.decode()


def test_unknown_filter_is_ignored_with_a_message(client, many_articles):
    response = client.get("/articles/?treatment=<b>nope</b>&condition=muscle-cramps")
    assert response.status_code == 200
    assert response.context["paginator"].count == 8
    html = response.content.decode()
    assert "couldn't find a treatment called “&lt;b&gt;nope&lt;/b&gt;”" in html
    assert "<b>nope</b>" not in html


def test_search_sqlite_path(client, many_articles):
    target = many_articles[15]
    target.body += "\n\nGastrocnemius stretching routine."
    target.save()
    response = client.get("/articles/?q=gastrocnemius")
    assert list(response.context["articles"]) == [target]
    html = response.content.decode()
    assert 'value="gastrocnemius"' in html
    assert '<meta name="robots" content="noindex, follow">' in html
    assert client.get("/articles/?q=nothing-matches-this").context["paginator"].count == 0
    # Title and summary match too.
    assert client.get("/articles/?q=Numbered article 07").context["paginator"].count == 1


def test_search_form_is_labelled(client, many_articles):
    html = client.get("/articles/").content.decode()
    assert '<label class="form-label" for="article-q">Search articles</label>' in html
    assert 'id="article-q" name="q"' in html
    assert 'method="get"' in html


def test_search_query_is_capped(client, many_articles):
    response = client.get("/articles/", {"q": "x" * 5000})
    assert response.status_code == 200
    assert len(response.context["query"]) == MAX_QUERY_LENGTH


def test_search_ignores_drafts(client, many_articles):
    ArticleFactory(title="Hidden gastrocnemius draft", status=Article.Status.DRAFT)
    assert client.get("/articles/?q=gastrocnemius").context["paginator"].count == 0


@pytest.mark.postgres
def test_postgres_search_ranks_title_above_body(clinic_facts):
    body_only = ArticleFactory(title="Calf care", summary="About calves.", body="Some text about hamstrings here.")
    in_summary = ArticleFactory(title="Leg care", summary="Hamstrings and calves.", body="Plain body.")
    in_title = ArticleFactory(title="Hamstring strains", summary="About legs.", body="Plain body.")
    ArticleFactory(title="Unrelated", summary="Nothing.", body="Nothing at all.")
    results = list(search_articles(Article.objects.published(), "hamstring"))
    assert results == [in_title, in_summary, body_only]  # stemming: "hamstrings" matches "hamstring"
    assert results[0].rank > results[1].rank > results[2].rank


# --- Markdown sanitisation -----------------------------------------------------------------------------------------

NASTY = (
    "Hello <script>alert('x1')</script> "
    '<img src="x" onerror="alert(1)"> '
    "[click](javascript:alert(2)) "
    '<iframe src="https://evil.example/"></iframe> '
    "<style>body{display:none}</style> "
    '<a href="#" onclick="alert(3)">link</a>'
)


def _assert_no_markup(html):
    assert "<script>alert" not in html
    assert not re.search(r"<[^>]*\bonerror\s*=", html)
    assert not re.search(r"<[^>]*\bonclick\s*=", html)
    assert 'href="javascript:' not in html.lower()
    assert "<iframe" not in html
    assert "<style" not in html
    assert "<img" not in html


def test_markdown_and_text_are_sanitised_everywhere(client, staff_client, clinic_facts):
    treatment = TreatmentFactory(body=NASTY, summary=NASTY[:290])
    TreatmentFAQFactory(treatment=treatment, answer=NASTY, question="<script>alert('q')</script>")
    condition = ConditionFactory(body=NASTY)
    article = ArticleFactory(
        title="<script>alert('t')</script>",
        body=NASTY,
        summary=NASTY[:390],
        meta_description='"><script>alert(9)</script>',
        treatment=treatment,
        conditions=[condition],
    )
    ArticleFAQFactory(article=article, answer=NASTY, question="<img src=x onerror=alert(1)>?")
    for url in [
        article.get_absolute_url(),
        treatment.get_absolute_url(),
        condition.get_absolute_url(),
        "/articles/",
        "/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_no_markup(response.content.decode())


# --- Admin -----------------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_logged_in(client):
    user = User.objects.create_superuser("boss", "boss@clinic.example", "a-long-test-password")
    client.force_login(user)
    return client


def test_admin_pages_and_actions(admin_client_logged_in, clinic_facts):
    client = admin_client_logged_in
    draft = ArticleFactory(status=Article.Status.DRAFT, published_at=None, treatment=TreatmentFactory())
    ArticleFAQFactory(article=draft)
    ArticleReferenceFactory(article=draft)
    response = client.get("/admin/articles/article/")
    assert response.status_code == 200
    assert draft.title in response.content.decode()
    assert client.get("/admin/articles/article/?status__exact=draft").status_code == 200
    assert client.get("/admin/articles/article/?q=Article").status_code == 200
    change = client.get(f"/admin/articles/article/{draft.pk}/change/")
    assert change.status_code == 200
    html = change.content.decode()
    assert "faqs-TOTAL_FORMS" in html and "references-TOTAL_FORMS" in html
    assert client.get("/admin/articles/article/add/").status_code == 200
    assert client.get("/admin/articles/treatment/add/").status_code == 200
    assert client.get("/admin/articles/condition/").status_code == 200

    client.post("/admin/articles/article/", {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == Article.Status.PUBLISHED and draft.published_at is not None
    client.post("/admin/articles/article/", {"action": "unpublish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT


def test_admin_view_on_site_works_for_drafts(admin_client_logged_in, clinic_facts):
    draft = ArticleFactory(status=Article.Status.DRAFT)
    html = admin_client_logged_in.get(f"/admin/articles/article/{draft.pk}/change/").content.decode()
    assert f'href="{draft.get_absolute_url()}"' in html
    assert admin_client_logged_in.get(draft.get_absolute_url()).status_code == 200
