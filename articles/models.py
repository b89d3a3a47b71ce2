"""Treatments, the conditions they may help with, and the clinic's articles.

`Article.objects.published()` is the only public filter: every view, the feed, the sitemap, the home
page and the related-article lists go through it, so a draft or a future-dated article never leaks.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from clinic import caching, registry

from . import seo
from .body import BodyMixin, rendered_body_fields
from .trust import ReferenceBase, ReviewedPage

WORDS_PER_MINUTE = 220
RESERVED_ARTICLE_SLUGS = {"feed"}  # /articles/feed/ is the RSS feed
# A word is a run of letters, digits, apostrophes and hyphens with at least one letter or digit.
_WORD = re.compile(r"[’'\-_]*[^\W_][\w’'-]*")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")


def count_words(text):
    # Link targets and Markdown punctuation are not words a reader reads.
    return len(_WORD.findall(_LINK_TARGET.sub("]", text or "")))


class TopicPage(BodyMixin, ReviewedPage):
    """What treatment and condition pages share (abstract): search description, listing order,
    timestamps and the schema.org description of the page."""

    meta_description = models.CharField(
        _("meta description"), max_length=300, blank=True, help_text=_("For search results; about 150 characters.")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Lower numbers are listed first."))
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    schema_about_type = ""  # the schema.org type of what the page is about

    class Meta:
        abstract = True
        ordering = ["order", "name"]
        get_latest_by = "updated"

    def __str__(self):
        return self.name

    def json_ld(self):
        data = {
            "@context": "https://schema.org",
            "@type": "MedicalWebPage",
            "url": self.absolute_url(),
            "name": self.name,
            "description": self.meta_description or self.summary,
            "dateModified": seo.iso(self.updated),
            "about": {"@type": self.schema_about_type, "name": self.name},
            **self.trust_json_ld(),
        }
        return {k: v for k, v in data.items() if v is not None}


class Treatment(TopicPage):
    name = models.CharField(_("name"), max_length=100, help_text=_("As patients know it, e.g. “Acupuncture”."))
    slug = models.SlugField(
        _("slug"), max_length=100, unique=True, help_text=_("The web address: /treatments/<slug>/.")
    )
    summary = models.CharField(
        _("summary"),
        max_length=300,
        help_text=_("One or two plain sentences shown on cards and at the top of the page."),
    )
    body = models.TextField(
        _("body"),
        blank=True,
        help_text=_(
            "Markdown. Use “## ” headings such as “What it is”, “What a visit is like” and “Who it may help”. "
            "Careful claims only: “may help”, “research suggests”."
        ),
    )
    body_rendered, body_toc = rendered_body_fields()
    practitioners = models.ManyToManyField(
        "clinic.Practitioner",
        related_name="treatments",
        blank=True,
        verbose_name=_("practitioners"),
        help_text=_("Who provides this treatment."),
    )

    schema_about_type = "MedicalTherapy"

    class Meta(TopicPage.Meta):
        verbose_name = _("treatment")
        verbose_name_plural = _("treatments")

    def get_absolute_url(self):
        return reverse("articles:treatment_detail", kwargs={"slug": self.slug})

    @property
    def book_url(self):
        return registry.link("book", treatment=self.slug)


class Condition(TopicPage):
    name = models.CharField(_("name"), max_length=100, help_text=_("e.g. “Muscle cramps”."))
    slug = models.SlugField(
        _("slug"), max_length=100, unique=True, help_text=_("The web address: /conditions/<slug>/.")
    )
    summary = models.CharField(_("summary"), max_length=300, help_text=_("One or two plain sentences."))
    body = models.TextField(
        _("body"),
        blank=True,
        help_text=_("Markdown. Include “## Common causes” and “## When to see a doctor” sections."),
    )
    body_rendered, body_toc = rendered_body_fields()
    treatments = models.ManyToManyField(
        Treatment,
        related_name="conditions",
        blank=True,
        verbose_name=_("treatments that may help"),
    )

    schema_about_type = "MedicalCondition"

    class Meta(TopicPage.Meta):
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")

    def get_absolute_url(self):
        return reverse("articles:condition_detail", kwargs={"slug": self.slug})


# Long columns that article cards never show (deferred in card queries).
CARD_SKIPS = ("body", "body_rendered", "body_toc", "treatment__body", "treatment__body_rendered",
              "treatment__body_toc", "author__bio")  # fmt: skip


# What the article page shows of the people on it (trust block, byline, JSON-LD) and of its treatment (tag,
# booking links): their bios, photos and the treatment's own texts are never read there.
PAGE_PERSON_FIELDS = ("name", "slug", "title", "credentials", "college", "registration_number", "is_active",
                      "is_clinical_reviewer")  # fmt: skip
PAGE_FIELDS = (
    "title", "slug", "summary", "body", "body_rendered", "body_toc", "meta_description", "status", "published_at",
    "updated", "reviewed_on", "hero_image", "hero_width", "hero_height", "hero_alt", "author", "reviewer",
    "treatment", "treatment__name", "treatment__slug",
    *(f"{person}__{name}" for person in ("author", "reviewer") for name in PAGE_PERSON_FIELDS),
)  # fmt: skip


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """The only public filter: published, and dated now or earlier."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=timezone.now())

    def with_card_data(self):
        """What an article card shows (title, summary, date, author, treatment) in one query, without the long
        texts a card never shows."""
        return self.select_related("author", "treatment").defer(*CARD_SKIPS)

    def for_page(self):
        """What the article page shows, in one query: the article with its author, reviewer and treatment,
        without the columns the page never reads (about 40 of 70). References, conditions and FAQs are read
        only when a cached fragment of the page has to be rendered again."""
        return self.select_related("author", "reviewer", "treatment").only(*PAGE_FIELDS)

    def publish(self):
        """Publish the selected articles; those without a date are dated now. Returns the number changed."""
        now = timezone.now()
        changed = self.filter(published_at__isnull=True).update(
            status=Article.Status.PUBLISHED, published_at=now, updated=now
        )
        changed += (
            self.filter(published_at__isnull=False)
            .exclude(status=Article.Status.PUBLISHED)
            .update(status=Article.Status.PUBLISHED, updated=now)
        )
        return _content_changed(changed)

    def unpublish(self):
        published = self.filter(status=Article.Status.PUBLISHED)
        return _content_changed(published.update(status=Article.Status.DRAFT, updated=timezone.now()))


def _content_changed(count):
    """A bulk update sends no save signal: drop cached parts of pages (related cards, lists) ourselves,
    now and again when the transaction commits, as a save would. Returns ``count``."""
    if count:
        caching.bump(caching.CONTENT)
        transaction.on_commit(lambda: caching.bump(caching.CONTENT), robust=True)
    return count


class Article(BodyMixin, ReviewedPage):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(
        _("slug"), max_length=200, unique=True, help_text=_("The web address: /articles/<slug>/. Avoid changing it.")
    )
    summary = models.CharField(
        _("summary"),
        max_length=400,
        help_text=_("Two plain sentences shown on cards, in the feed and under the title."),
    )
    body = models.TextField(
        _("body"),
        help_text=_(
            "Markdown. Start sections with “## ” headings (they make the table of contents). "
            "Use careful claims (“may help”, “research suggests”) and end with “## When to see a doctor”."
        ),
    )
    body_rendered, body_toc = rendered_body_fields()
    meta_description = models.CharField(
        _("meta description"),
        max_length=300,
        blank=True,
        help_text=_("For search results and link previews; about 150 characters. The summary is used when empty."),
    )
    treatment = models.ForeignKey(
        Treatment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="articles",
        verbose_name=_("treatment"),
        help_text=_("The treatment the article is about; its “Book” button links to it."),
    )
    conditions = models.ManyToManyField(Condition, related_name="articles", blank=True, verbose_name=_("conditions"))
    # Every article has an author (the trust block's reviewer and review date come from ReviewedPage).
    author = models.ForeignKey(
        "clinic.Practitioner",
        on_delete=models.PROTECT,
        related_name="articles",
        verbose_name=_("author"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        _("published"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("The article is public from this moment once its status is Published. A future date schedules it."),
    )
    hero_image = models.ImageField(
        _("hero image"),
        upload_to="articles/",
        blank=True,
        width_field="hero_width",
        height_field="hero_height",
        help_text=_("Optional. A landscape photo, at least 1200 pixels wide."),
    )
    hero_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    hero_alt = models.CharField(
        _("hero image description"),
        max_length=200,
        blank=True,
        help_text=_(
            "Required with an image: describe it for people who cannot see it. "
            "Make the extra effort, it makes a difference."
        ),
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created"]
        get_latest_by = "published_at"
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [models.Index(fields=["status", "published_at"], name="article_public_idx")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("articles:article_detail", kwargs={"slug": self.slug})

    def clean(self):
        errors = {}
        if self.hero_image and not self.hero_alt.strip():
            errors["hero_alt"] = _("Describe the image for people who cannot see it.")
        if self.slug in RESERVED_ARTICLE_SLUGS:
            errors["slug"] = _("“%(slug)s” is used by the site itself; choose another slug.") % {"slug": self.slug}
        errors.update(self.review_errors())
        if errors:
            raise ValidationError(errors)

    @property
    def is_public(self):
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    @cached_property
    def word_count(self):
        return count_words(self.body)

    @property
    def reading_time(self):
        """Minutes to read at about 220 words a minute, at least 1."""
        return max(1, round(self.word_count / WORDS_PER_MINUTE))

    @property
    def description(self):
        return self.meta_description or self.summary

    @cached_property
    def condition_list(self):
        """The conditions (names and links), fetched once however many parts of a page show them."""
        return list(self.conditions.all())

    @cached_property
    def faq_list(self):
        """The FAQs, fetched once for the page's FAQ section and its JSON-LD."""
        return list(self.faqs.all())

    @property
    def book_url(self):
        return self.treatment.book_url if self.treatment_id else registry.link("book")

    def related_articles(self, limit=3):
        """Up to `limit` public articles on the same treatment or sharing a condition, newest first.

        Reads the conditions once per instance (`condition_list`), then one query. Written so that the
        database walks the published articles newest first and stops at `limit` (no sort of every match)."""
        condition_ids = [c.pk for c in self.condition_list]
        match = models.Q(pk__in=[])
        if condition_ids:
            sharing = Article.conditions.through.objects.filter(condition_id__in=condition_ids).values("article_id")
            match |= models.Q(pk__in=sharing)
        if self.treatment_id:
            match |= models.Q(treatment_id=self.treatment_id)
        return list(Article.objects.published().filter(match).exclude(pk=self.pk).with_card_data()[:limit])

    def json_ld(self, publisher_name=""):
        """schema.org MedicalWebPage for the article page (author, dates, reviewer, publisher)."""
        url = self.absolute_url()
        data = {
            "@context": "https://schema.org",
            "@type": "MedicalWebPage",
            "@id": url,
            "url": url,
            "mainEntityOfPage": url,
            "headline": self.title,
            "name": self.title,
            "description": self.description,
            "inLanguage": "en",
            "wordCount": self.word_count,
            "datePublished": seo.iso(self.published_at),
            "dateModified": seo.iso(self.updated or self.published_at),
            **self.trust_json_ld(),
            "publisher": {"@type": "MedicalOrganization", "name": publisher_name, "url": settings.SITE_URL + "/"}
            if publisher_name
            else None,
            "about": [{"@type": "MedicalCondition", "name": c.name} for c in self.condition_list] or None,
            "image": settings.SITE_URL + self.hero_image.url if self.hero_image else None,
        }
        return {k: v for k, v in data.items() if v is not None}


class FAQBase(models.Model):
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    question = models.CharField(_("question"), max_length=300, help_text=_("As a patient would ask it."))
    answer = models.TextField(_("answer"), help_text=_("Markdown. A short, careful answer; a few sentences."))

    class Meta:
        abstract = True
        ordering = ["order", "id"]

    def __str__(self):
        return self.question


class TreatmentFAQ(FAQBase):
    treatment = models.ForeignKey(Treatment, on_delete=models.CASCADE, related_name="faqs")

    class Meta(FAQBase.Meta):
        verbose_name = _("treatment FAQ")
        verbose_name_plural = _("treatment FAQs")


class ArticleFAQ(FAQBase):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="faqs")

    class Meta(FAQBase.Meta):
        verbose_name = _("article FAQ")
        verbose_name_plural = _("article FAQs")


class ArticleReference(ReferenceBase):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="references")

    class Meta(ReferenceBase.Meta):
        pass


class TreatmentReference(ReferenceBase):
    treatment = models.ForeignKey(Treatment, on_delete=models.CASCADE, related_name="references")

    class Meta(ReferenceBase.Meta):
        verbose_name = _("treatment reference")
        verbose_name_plural = _("treatment references")


class ConditionReference(ReferenceBase):
    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="references")

    class Meta(ReferenceBase.Meta):
        verbose_name = _("condition reference")
        verbose_name_plural = _("condition references")
