from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Article, ArticleFAQ, ArticleReference, Condition, Treatment, TreatmentFAQ


class TreatmentFAQInline(admin.StackedInline):
    model = TreatmentFAQ
    extra = 0
    fields = ["order", "question", "answer"]


class ArticleFAQInline(admin.StackedInline):
    model = ArticleFAQ
    extra = 0
    fields = ["order", "question", "answer"]


class ArticleReferenceInline(admin.TabularInline):
    model = ArticleReference
    extra = 0
    fields = ["order", "title", "publisher", "year", "url"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Treatment)
class TreatmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "updated"]
    list_editable = ["order"]
    search_fields = ["name", "summary", "body"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["practitioners"]
    inlines = [TreatmentFAQInline]
    fields = ["name", "slug", "summary", "meta_description", "body", "practitioners", "order"]


@admin.register(Condition)
class ConditionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "updated"]
    list_editable = ["order"]
    search_fields = ["name", "summary", "body"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["treatments"]
    fields = ["name", "slug", "summary", "meta_description", "body", "treatments", "order"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "treatment", "author", "published_at", "reviewed_on"]
    list_filter = ["status", "treatment", "conditions", "author"]
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
        (_("People"), {"fields": ["author", "reviewer", "reviewed_on"]}),
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
