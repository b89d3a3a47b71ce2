"""Public pages: home, treatments, conditions, the article list and article pages.

Every article list goes through `Article.objects.published()`; only staff who may view articles see
drafts and future-dated articles, marked as a preview, with noindex and never-cache headers.
"""

import hashlib

from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView, ListView, TemplateView

from clinic import caching
from clinic.cache_headers import public_page
from clinic.facts import get_facts
from clinic.models import Practitioner
from clinic.seo import clinic_json_ld

from . import seo, services
from .models import Article, Condition, Treatment
from .search import clean_query, search_articles

HOME = (_("Home"), "/")


class BreadcrumbMixin:
    """Breadcrumbs as [(name, url), ...] for the page's nav and its BreadcrumbList JSON-LD."""

    def get_breadcrumbs(self):
        return [HOME]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        crumbs = self.get_breadcrumbs()
        ctx["breadcrumbs"] = crumbs
        # A callable: built only when the template shows it (not when it comes from a cached fragment).
        ctx["breadcrumb_json_ld"] = lambda: seo.breadcrumb_list(crumbs)
        return ctx


class PublishedArticlesMixin:
    """The public articles, with what their cards show loaded in the same query."""

    def published_articles(self):
        return Article.objects.published().with_card_data()


@method_decorator(public_page, name="dispatch")
class HomeView(PublishedArticlesMixin, TemplateView):
    template_name = "articles/home.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            treatments=Treatment.objects.all(),
            conditions=Condition.objects.all(),
            latest_articles=self.published_articles()[:3],
            practitioners=Practitioner.objects.bookable(),
            clinic_json_ld=clinic_json_ld(get_facts(), self.request),
        )
        return ctx


@method_decorator(public_page, name="dispatch")
class TreatmentListView(BreadcrumbMixin, ListView):
    template_name = "articles/treatment_list.html"
    context_object_name = "treatments"

    def get_queryset(self):
        return Treatment.objects.prefetch_related(Prefetch("practitioners", queryset=Practitioner.objects.active()))

    def get_breadcrumbs(self):
        return [HOME, (_("Treatments"), self.request.path)]


@method_decorator(public_page, name="dispatch")
class TreatmentDetailView(BreadcrumbMixin, PublishedArticlesMixin, DetailView):
    template_name = "articles/treatment_detail.html"
    context_object_name = "treatment"
    queryset = Treatment.objects.select_related("author", "reviewer").prefetch_related(
        "faqs", "conditions", "references", Prefetch("practitioners", queryset=Practitioner.objects.active())
    )

    def get_breadcrumbs(self):
        return [HOME, (_("Treatments"), "/treatments/"), (self.object.name, self.request.path)]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        treatment = self.object
        ctx.update(
            services=services.for_treatment(treatment),
            related_articles=self.published_articles().filter(treatment=treatment)[:6],
            page_json_ld=treatment.json_ld(),
            faq_json_ld=seo.faq_page(treatment.faqs.all()),
        )
        return ctx


@method_decorator(public_page, name="dispatch")
class ConditionDetailView(BreadcrumbMixin, PublishedArticlesMixin, DetailView):
    template_name = "articles/condition_detail.html"
    context_object_name = "condition"
    queryset = Condition.objects.select_related("author", "reviewer").prefetch_related("treatments", "references")

    def get_breadcrumbs(self):
        return [HOME, (self.object.name, self.request.path)]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            related_articles=self.published_articles().filter(conditions=self.object)[:6],
            page_json_ld=self.object.json_ld(),
        )
        return ctx


@method_decorator(public_page(query=("q", "treatment", "condition", "page")), name="dispatch")
class ArticleListView(BreadcrumbMixin, PublishedArticlesMixin, ListView):
    """Public articles, 10 a page; `?treatment=<slug>`, `?condition=<slug>` and `?q=<words>` narrow them.

    An unknown filter slug is ignored (and said so on the page); a page number that is not a page is a 404.
    """

    template_name = "articles/article_list.html"
    context_object_name = "articles"
    paginate_by = 10

    @cached_property
    def filter_options(self):
        # Only what the filter menus show: a treatment's or condition's own texts are long and never read here.
        return {
            "treatment": list(Treatment.objects.only("slug", "name", "order")),
            "condition": list(Condition.objects.only("slug", "name", "order")),
        }

    @cached_property
    def active_filters(self):
        """{"treatment": obj or None, "condition": obj or None} and the slugs that matched nothing."""
        active, unknown = {}, []
        for key, options in self.filter_options.items():
            slug = self.request.GET.get(key, "").strip()[:100]
            active[key] = next((o for o in options if o.slug == slug), None)
            if slug and active[key] is None:
                unknown.append((key, slug))
        return active, unknown

    @cached_property
    def query(self):
        return clean_query(self.request.GET.get("q"))

    def get_queryset(self):
        qs = self.published_articles()  # a card shows no conditions: nothing to prefetch
        active, _unknown = self.active_filters
        if active["treatment"]:
            qs = qs.filter(treatment=active["treatment"])
        if active["condition"]:
            qs = qs.filter(conditions=active["condition"])
        return search_articles(qs, self.query)

    def get_breadcrumbs(self):
        return [HOME, (_("Articles"), self.request.path)]

    def is_shareable(self):
        """Only known filters with valid values and real page numbers may be kept by a proxy: a random
        ?treatment=, an odd page number or any search (words are endless) is for that visitor alone, so nobody
        can fill a cache with made-up variants."""
        params = self.request.GET
        _active, unknown = self.active_filters
        if unknown or "q" in params:
            return False
        page = params.get("page")
        return page is None or (page.isdigit() and page == str(int(page)))

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if not self.is_shareable():
            patch_cache_control(response, private=True)  # kept by no cache (clinic/cache_headers.py)
        return response

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        active, unknown = self.active_filters
        ctx.update(
            treatments=self.filter_options["treatment"],
            conditions=self.filter_options["condition"],
            active_treatment=active["treatment"],
            active_condition=active["condition"],
            unknown_filters=unknown,
            query=self.query,
            is_filtered=bool(self.query or active["treatment"] or active["condition"]),
        )
        return ctx


def _publisher_name():
    profile = get_facts().profile
    return profile.name if profile else ""


@method_decorator(public_page, name="dispatch")
class ArticleDetailView(BreadcrumbMixin, DetailView):
    template_name = "articles/article_detail.html"
    context_object_name = "article"

    def can_preview(self):
        if settings.SESSION_COOKIE_NAME not in self.request.COOKIES:
            return False  # no session to look up, so the public page does not vary on the Cookie header
        user = self.request.user
        return user.is_authenticated and user.is_staff and user.has_perm("articles.view_article")

    def get_queryset(self):
        return Article.objects.for_page()  # staff previews: drafts and scheduled articles too

    def get_object(self, queryset=None):
        if self.can_preview():
            return super().get_object(queryset)
        # Kept with the page's cached parts, under the content version any staff edit replaces: no query when warm.
        slug = self.kwargs["slug"]
        digest = hashlib.sha256(slug.encode()).hexdigest()[:32]  # any length of slug a visitor types
        key = f"articles:public:{caching.content_version(self.request)}:{digest}"
        article = caching.fragment_cache().get(key)
        if article is None:
            article = Article.objects.for_page().published().filter(slug=slug).first()
            if article is None:
                raise Http404(_("No article found matching the query"))
            caching.fragment_cache().set(key, article)  # before any per-render value is set on it
        return article

    def get_breadcrumbs(self):
        return [HOME, (_("Articles"), "/articles/"), (self.object.title, self.request.path)]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        article = self.object
        # Callables: the template calls them only when its cached fragments are missing.
        ctx.update(
            preview=not article.is_public,
            related_articles=article.related_articles,
            page_json_ld=lambda: article.json_ld(publisher_name=_publisher_name()),
            faq_json_ld=lambda: seo.faq_page(article.faq_list),
        )
        return ctx

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if context.get("preview"):
            # A draft or scheduled article seen by staff: never cached, never indexed.
            add_never_cache_headers(response)
            response["X-Robots-Tag"] = "noindex, nofollow"
        return response
