"""Load the clinic's treatments, conditions and articles from articles/content/ (Markdown with TOML front matter).

Idempotent: rows are matched by slug and only missing ones are created, with their FAQs, references and
links. An existing row is never changed, so what staff edit in admin survives a second run.
"""

from datetime import datetime, time
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from clinic import datetimes
from clinic.content import practitioner_treatments, read_front_matter
from clinic.models import Practitioner

from .models import (
    Article,
    ArticleFAQ,
    ArticleReference,
    Condition,
    ConditionReference,
    Treatment,
    TreatmentFAQ,
    TreatmentReference,
)

CONTENT_DIR = Path(__file__).resolve().parent / "content"
PUBLISH_TIME = time(9, 0)  # articles go live at 09:00 on their date, clinic time


def _files(folder):
    return sorted((CONTENT_DIR / folder).glob("*.md"))


def _publish_datetime(day):
    return timezone.make_aware(datetime.combine(day, PUBLISH_TIME), datetimes.clinic_tz())


def _page_fields(meta, body, path):
    """The fields treatments and conditions share, from a content file."""
    return {
        "name": meta["name"],
        "summary": meta.get("summary", ""),
        "meta_description": meta.get("meta_description", ""),
        "order": meta.get("order", 0),
        "body": body,
        **_trust_fields(meta, path),
    }


def _trust_fields(meta, path):
    """Author, reviewer and review date: the trust block every medical page carries."""
    return {
        "author": _practitioner(meta.get("author"), path),
        "reviewer": _practitioner(meta.get("reviewer"), path),
        "reviewed_on": meta.get("reviewed"),
    }


def _create_references(model, meta, **owner):
    refs = meta.get("reference", [])
    model.objects.bulk_create(
        model(
            **owner,
            order=i,
            title=r["title"],
            publisher=r.get("publisher", ""),
            year=r.get("year"),
            url=r.get("url", ""),
            doi=r.get("doi", ""),
        )
        for i, r in enumerate(refs, start=1)
    )
    return len(refs)


def _create_faqs(model, meta, **owner):
    faqs = meta.get("faq", [])
    model.objects.bulk_create(
        model(**owner, order=i, question=f["question"], answer=f["answer"]) for i, f in enumerate(faqs, start=1)
    )
    return len(faqs)


def _load_pages(folder, model, reference_model, add_extras):
    """Create the treatments or conditions of a content folder that are missing, with their references;
    `add_extras(page, meta)` adds what else a new page carries and returns how many rows it created."""
    created = 0
    for path in _files(folder):
        meta, body = read_front_matter(path)
        page, new = model.objects.get_or_create(
            slug=meta["slug"],
            defaults=_page_fields(meta, body, path),
        )
        if new:
            created += 1 + _create_references(reference_model, meta, **{model._meta.model_name: page})
            created += add_extras(page, meta)
    return created


def _add_treatment_extras(treatment, meta):
    faqs = _create_faqs(TreatmentFAQ, meta, treatment=treatment)
    # Only for a treatment created now: staff may have changed who provides an existing one.
    _link_practitioners(treatment)
    return faqs


def _link_practitioners(treatment):
    slugs = [p for p, treatments in practitioner_treatments().items() if treatment.slug in treatments]
    if slugs:
        treatment.practitioners.add(*Practitioner.objects.filter(slug__in=slugs))


def _add_condition_extras(condition, meta):
    condition.treatments.add(*Treatment.objects.filter(slug__in=meta.get("treatments", [])))
    return 0


def _practitioner(slug, path):
    if not slug:
        return None
    try:
        return Practitioner.objects.get(slug=slug)
    except Practitioner.DoesNotExist:
        raise ValueError(f"{path.name}: no practitioner “{slug}”; load the clinic's content first") from None


def _load_articles():
    created = 0
    for path in _files("articles"):
        meta, body = read_front_matter(path)
        if Article.objects.filter(slug=meta["slug"]).exists():
            continue
        published = meta.get("published")
        article = Article.objects.create(
            slug=meta["slug"],
            title=meta["title"],
            summary=meta.get("summary", ""),
            meta_description=meta.get("meta_description", ""),
            body=body,
            treatment=Treatment.objects.filter(slug=meta.get("treatment", "")).first(),
            status=Article.Status.PUBLISHED if published else Article.Status.DRAFT,
            published_at=_publish_datetime(published) if published else None,
            **_trust_fields(meta, path),
        )
        article.conditions.add(*Condition.objects.filter(slug__in=meta.get("conditions", [])))
        faqs = _create_faqs(ArticleFAQ, meta, article=article)
        refs = _create_references(ArticleReference, meta, article=article)
        created += 1 + faqs + refs
    return created


def load(log=print):
    """Create the treatments, conditions and articles that are missing; return how many rows were created."""
    with transaction.atomic():
        created = (
            _load_pages("treatments", Treatment, TreatmentReference, _add_treatment_extras)
            + _load_pages("conditions", Condition, ConditionReference, _add_condition_extras)
            + _load_articles()
        )
    log(f"articles: {created} new rows")
    return created
