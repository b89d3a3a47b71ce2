"""/sitemap.xml: every public page, with when it last changed."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap as BaseSitemap
from django.db.models import Max
from django.urls import reverse

from clinic.facts import get_facts
from clinic.models import Practitioner

from .models import Article, Condition, Treatment


def _latest(*values):
    values = [v for v in values if v]
    return max(values) if values else None


class Sitemap(BaseSitemap):
    """Absolute URLs on SITE_URL, the same origin as the pages' canonical links."""

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc or super().get_domain(site)

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or super().get_protocol(protocol)


class StaticPagesSitemap(Sitemap):
    """Pages without their own model row; lastmod from what they show."""

    def items(self):
        return [
            "articles:home",
            "articles:treatment_list",
            "articles:article_list",
            "clinic:team",
            "clinic:contact",
            "clinic:privacy",
            "clinic:first_visit",
            "clinic:accessibility",
            "clinic:telehealth",
        ]

    def location(self, item):
        return reverse(item)

    def priority(self, item):
        return 1.0 if item == "articles:home" else 0.6

    def lastmod(self, item):
        if not hasattr(self, "_dates"):
            profile = get_facts().profile
            self._dates = {
                "profile": profile.updated if profile else None,
                "article": Article.objects.published().aggregate(m=Max("updated"))["m"],
                "treatment": Treatment.objects.aggregate(m=Max("updated"))["m"],
            }
        d = self._dates
        return {
            "articles:home": _latest(d["profile"], d["article"], d["treatment"]),
            "articles:treatment_list": d["treatment"],
            "articles:article_list": d["article"],
        }.get(item, d["profile"])


class TreatmentSitemap(Sitemap):
    priority = 0.8

    def items(self):
        return Treatment.objects.all()

    def lastmod(self, obj):
        return obj.updated


class ConditionSitemap(Sitemap):
    priority = 0.7

    def items(self):
        return Condition.objects.all()

    def lastmod(self, obj):
        return obj.updated


class ArticleSitemap(Sitemap):
    priority = 0.7

    def items(self):
        return Article.objects.published().order_by("-published_at")

    def lastmod(self, obj):
        return obj.updated


class PractitionerSitemap(Sitemap):
    priority = 0.5

    def items(self):
        return Practitioner.objects.active()

    def lastmod(self, obj):
        return obj.updated


sitemaps = {
    "pages": StaticPagesSitemap,
    "treatments": TreatmentSitemap,
    "conditions": ConditionSitemap,
    "articles": ArticleSitemap,
    "team": PractitionerSitemap,
}
