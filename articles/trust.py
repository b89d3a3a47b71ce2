"""The trust block every medical page carries: who wrote it, who reviewed it and when, when it is due
for its next review, and the sources it rests on.

Articles, treatments and conditions all inherit `ReviewedPage` and have a `ReferenceBase` subclass, so
the fields, the page's trust block (templates/articles/includes/trust_block.html) and the JSON-LD are
the same everywhere. `articles.quality` checks the rules staff must keep as they edit.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from clinic import datetimes

from . import seo

REVIEW_INTERVAL_MONTHS = 12  # every medical page is checked again within a year
DUE_SOON_DAYS = 30  # admin warns this long before a page's review is due
# Every medical page has a section of warning signs with a heading such as "When to see a doctor".
RED_FLAGS_HEADING = re.compile(r"\bwhen to\b.*\bdoctor\b", re.IGNORECASE)


def add_months(day, months):
    """`day` moved by whole months, clamped to the month's last day (29 Feb + 12 months = 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # unreachable: every month has at least 28 days


class ReviewStatus(models.TextChoices):
    CURRENT = "current", _("Reviewed")
    DUE_SOON = "due_soon", _("Review due soon")
    OVERDUE = "overdue", _("Review overdue")
    MISSING = "missing", _("Never reviewed")


class ReviewedPage(models.Model):
    """Author, reviewer and review date of a medical page (abstract)."""

    author = models.ForeignKey(
        "clinic.Practitioner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="authored_%(class)ss",
        verbose_name=_("author"),
    )
    reviewer = models.ForeignKey(
        "clinic.Practitioner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviewed_%(class)ss",
        verbose_name=_("reviewed by"),
        help_text=_(
            "Someone other than the author who checked the page for accuracy. Pages about medication, "
            "pregnancy or warning signs need the clinic's physician reviewer."
        ),
    )
    reviewed_on = models.DateField(
        _("last reviewed"),
        null=True,
        blank=True,
        help_text=_("When the content was last checked for accuracy. Due again 12 months later."),
    )

    class Meta:
        abstract = True

    def review_errors(self):
        """Field errors for the trust fields, shared by every page type's clean()."""
        if self.reviewer_id and self.reviewer_id == self.author_id:
            return {"reviewer": _("The reviewer should be someone other than the author.")}
        return {}

    def clean(self):
        super().clean()
        errors = self.review_errors()
        if errors:
            raise ValidationError(errors)

    @cached_property
    def reference_list(self):
        """The references, fetched once for the trust block and the JSON-LD."""
        return list(self.references.all())

    @property
    def red_flags_anchor(self):
        """The id of the page's own "When to … see a doctor" section, for the trust block to link to."""
        for heading in getattr(self, "toc", None) or []:
            if RED_FLAGS_HEADING.search(heading["name"]):
                return heading["id"]
        return ""

    @property
    def next_review_on(self):
        return add_months(self.reviewed_on, REVIEW_INTERVAL_MONTHS) if self.reviewed_on else None

    def review_status(self, today=None):
        today = today or datetimes.today()
        if not self.reviewed_on:
            return ReviewStatus.MISSING
        if self.next_review_on < today:
            return ReviewStatus.OVERDUE
        if self.next_review_on <= today + datetime.timedelta(days=DUE_SOON_DAYS):
            return ReviewStatus.DUE_SOON
        return ReviewStatus.CURRENT

    def trust_json_ld(self):
        """The schema.org properties of the trust block (None values are dropped by the caller)."""
        return {
            "author": seo.person(self.author) if self.author_id else None,
            "lastReviewed": self.reviewed_on.isoformat() if self.reviewed_on else None,
            "reviewedBy": seo.person(self.reviewer) if self.reviewer_id else None,
            "citation": [ref.json_ld() for ref in self.reference_list] or None,
        }


class ReferenceBase(models.Model):
    """A source a medical page rests on (abstract; each page type has its own table)."""

    order = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(
        _("publisher"), max_length=200, help_text=_("e.g. NHS, Mayo Clinic, Cochrane Database of Systematic Reviews.")
    )
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    url = models.URLField(_("link"), max_length=500, blank=True, help_text=_("Only real, checked sources."))
    doi = models.CharField(
        _("DOI"),
        max_length=100,
        blank=True,
        help_text=_("For journal articles and reviews, e.g. 10.1002/14651858.CD013814. Linked via doi.org."),
    )

    class Meta:
        abstract = True
        ordering = ["order", "id"]
        verbose_name = _("reference")
        verbose_name_plural = _("references")

    def __str__(self):
        return f"{self.title} ({self.publisher}{', ' + str(self.year) if self.year else ''})"

    @property
    def doi_url(self):
        return f"https://doi.org/{self.doi}" if self.doi else ""

    @property
    def link(self):
        return self.url or self.doi_url

    def json_ld(self):
        data = {"@type": "CreativeWork", "name": self.title, "publisher": self.publisher, "url": self.link or None}
        if self.year:
            data["datePublished"] = str(self.year)
        if self.doi:
            data["sameAs"] = self.doi_url
        return {k: v for k, v in data.items() if v}
