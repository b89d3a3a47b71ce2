import datetime

from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clinic import datetimes

from . import quality
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
from .trust import DUE_SOON_DAYS, REVIEW_INTERVAL_MONTHS, ReviewStatus, add_months


class TreatmentFAQInline(admin.StackedInline):
    model = TreatmentFAQ
    extra = 0
    fields = ["order", "question", "answer"]


class ArticleFAQInline(admin.StackedInline):
    model = ArticleFAQ
    extra = 0
    fields = ["order", "question", "answer"]


class ReferenceInline(admin.TabularInline):
    extra = 0
    min_num = 0
    fields = ["order", "title", "publisher", "year", "url", "doi"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class ArticleReferenceInline(ReferenceInline):
    model = ArticleReference


class TreatmentReferenceInline(ReferenceInline):
    model = TreatmentReference


class ConditionReferenceInline(ReferenceInline):
    model = ConditionReference


class ReviewDueFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [(s.value, s.label) for s in ReviewStatus]

    def queryset(self, request, queryset):
        today = datetimes.today()
        overdue_before = add_months(today, -REVIEW_INTERVAL_MONTHS)
        due_soon_before = add_months(today + datetime.timedelta(days=DUE_SOON_DAYS), -REVIEW_INTERVAL_MONTHS)
        match self.value():
            case ReviewStatus.MISSING:
                return queryset.filter(reviewed_on__isnull=True)
            case ReviewStatus.OVERDUE:
                return queryset.filter(reviewed_on__lt=overdue_before)
            case ReviewStatus.DUE_SOON:
                return queryset.filter(reviewed_on__gte=overdue_before, reviewed_on__lte=due_soon_before)
            case ReviewStatus.CURRENT:
                return queryset.filter(reviewed_on__gt=due_soon_before)
        return queryset


def pages_due_for_review(queryset):
    """The pages of `queryset` whose medical review is missing, overdue or due within DUE_SOON_DAYS."""
    return [p for p in queryset if p.review_status() != ReviewStatus.CURRENT]


def reviews_index_context(request):
    """Admin index panel: medical pages whose review is due, for staff who may edit them."""
    due = []
    for model in (Article, Treatment, Condition):
        name = model._meta.model_name
        if not request.user.has_perm(f"articles.change_{name}"):
            continue
        for page in pages_due_for_review(model.objects.all()):
            url = reverse(f"admin:articles_{name}_change", args=[page.pk])
            due.append((page, ReviewStatus(page.review_status()).label, url))
    return {"reviews_due": due} if due else {}


admin.site.add_index_context(reviews_index_context)


class ReviewedPageAdmin(admin.ModelAdmin):
    """Review dates and content warnings for every medical page type."""

    trust_fieldset = (_("Review"), {"fields": ["author", "reviewer", "reviewed_on"]})

    @admin.display(description=_("review"), ordering="reviewed_on")
    def review_state(self, obj):
        status = ReviewStatus(obj.review_status())
        if obj.next_review_on:
            return _("%(status)s (next by %(day)s)") % {"status": status.label, "day": obj.next_review_on}
        return status.label

    def changelist_view(self, request, extra_context=None):
        due = pages_due_for_review(self.get_queryset(request))
        if due:
            self.message_user(
                request,
                ngettext(
                    "%(count)d page needs its medical review soon or now: %(names)s.",
                    "%(count)d pages need their medical review soon or now: %(names)s.",
                    len(due),
                )
                % {"count": len(due), "names": ", ".join(str(p) for p in due)},
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "GET":
            for problem in quality.problems(obj):
                self.message_user(request, _("Before this page can be trusted: %s.") % problem, messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)


class TopicPageAdmin(ReviewedPageAdmin):
    """Treatment and condition pages: the same list and form; each names its own related pages
    (picked with the two-box widget) in `filter_horizontal`."""

    list_display = ["name", "slug", "order", "review_state", "updated"]
    list_editable = ["order"]
    list_filter = [ReviewDueFilter]
    search_fields = ["name", "summary", "body"]
    prepopulated_fields = {"slug": ["name"]}

    def get_fieldsets(self, request, obj=None):
        fields = ["name", "slug", "summary", "meta_description", "body", *self.filter_horizontal, "order"]
        return [(None, {"fields": fields}), self.trust_fieldset]


@admin.register(Treatment)
class TreatmentAdmin(TopicPageAdmin):
    filter_horizontal = ["practitioners"]
    inlines = [TreatmentFAQInline, TreatmentReferenceInline]


@admin.register(Condition)
class ConditionAdmin(TopicPageAdmin):
    filter_horizontal = ["treatments"]
    inlines = [ConditionReferenceInline]


@admin.register(Article)
class ArticleAdmin(ReviewedPageAdmin):
    list_display = ["title", "status", "treatment", "author", "published_at", "review_state"]
    list_filter = ["status", ReviewDueFilter, "treatment", "conditions", "author"]
    list_select_related = ["treatment", "author"]
    search_fields = ["title", "summary", "body"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "published_at"
    filter_horizontal = ["conditions"]
    inlines = [ArticleFAQInline, ArticleReferenceInline]
    actions = ["publish", "unpublish"]
    readonly_fields = ["created", "updated"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "body"]}),
        (_("Topic"), {"fields": ["treatment", "conditions"]}),
        ReviewedPageAdmin.trust_fieldset,
        (_("Publishing"), {"fields": ["status", "published_at", "meta_description"]}),
        (_("Image"), {"fields": ["hero_image", "hero_alt"], "classes": ["collapse"]}),
        (_("History"), {"fields": ["created", "updated"], "classes": ["collapse"]}),
    ]

    def view_on_site(self, obj):
        # Staff can open drafts too: the article page shows them as a preview.
        return obj.get_absolute_url()

    @admin.action(description=_("Publish selected articles (dated now if they have no date)"), permissions=["change"])
    def publish(self, request, queryset):
        count = queryset.publish()
        self.message_user(
            request,
            ngettext("%(count)d article published.", "%(count)d articles published.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unpublish selected articles (back to draft)"), permissions=["change"])
    def unpublish(self, request, queryset):
        count = queryset.unpublish()
        self.message_user(
            request,
            ngettext("%(count)d article unpublished.", "%(count)d articles unpublished.", count) % {"count": count},
            messages.SUCCESS,
        )
