"""The rules every public medical page keeps as staff edit it, in one place for the tests and the admin.

A page passes when it has an author, a different reviewer, a review within the last 12 months, at least
two linked references, its own "When to see a doctor" section, no overclaiming words, and, when it
touches medication, pregnancy or warning signs, a physician reviewer.
"""

import re

from django.utils.translation import gettext as _

from .trust import ReviewStatus

MIN_REFERENCES = 2
# Words a careful clinician would not use about these treatments.
OVERCLAIMS = re.compile(r"\b(cure[sd]?|curing|clinically proven|guaranteed?|detox\w*)\b", re.IGNORECASE)
# Topics that need the physician reviewer: medicines and supplements, pregnancy, and warning signs.
CLINICAL_TOPICS = re.compile(
    r"\b(medications?|medicines?|drugs?|quinine|magnesium|supplements?|blood thinners?|anticoagulant|"
    r"statins?|diuretics?|pregnan\w*|see a doctor|urgent|emergency|911)\b",
    re.IGNORECASE,
)


def medical_pages():
    """Every public page that gives health information: published articles, treatments and conditions."""
    from .models import Article, Condition, Treatment

    related = ("author", "reviewer")
    yield from Article.objects.published().select_related(*related).prefetch_related("references", "faqs")
    yield from Treatment.objects.select_related(*related).prefetch_related("references", "faqs")
    yield from Condition.objects.select_related(*related).prefetch_related("references")


def page_text(page):
    parts = [getattr(page, "title", "") or getattr(page, "name", ""), page.summary, page.body]
    if hasattr(page, "faqs"):
        parts += [f"{f.question} {f.answer}" for f in page.faqs.all()]
    return "\n".join(parts)


def overclaims(text):
    return sorted({m.group(0).lower() for m in OVERCLAIMS.finditer(text)})


def touches_clinical_topics(page):
    return bool(CLINICAL_TOPICS.search(page_text(page)))


def problems(page, today=None):
    """What a page lacks, in words an editor understands; empty when it meets every rule."""
    found = []
    if not page.author_id:
        found.append(_("no author"))
    if not page.reviewer_id:
        found.append(_("no reviewer"))
    elif page.reviewer_id == page.author_id:
        found.append(_("reviewed by its own author"))
    elif touches_clinical_topics(page) and not page.reviewer.is_clinical_reviewer:
        found.append(_("mentions medication, pregnancy or warning signs but is not reviewed by the physician"))
    status = page.review_status(today)
    if status == ReviewStatus.MISSING:
        found.append(_("no review date"))
    elif status == ReviewStatus.OVERDUE:
        found.append(_("last reviewed more than 12 months ago"))
    linked = [r for r in page.reference_list if r.link]
    if len(linked) < MIN_REFERENCES:
        found.append(_("fewer than %(n)d linked references") % {"n": MIN_REFERENCES})
    if not page.red_flags_anchor:
        found.append(_("no “When to see a doctor” section"))
    words = overclaims(page_text(page))
    if words:
        found.append(_("overclaiming words: %(words)s") % {"words": ", ".join(words)})
    return found
