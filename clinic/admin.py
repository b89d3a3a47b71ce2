from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import ClinicProfile, Location, OpeningHours, Practitioner


@admin.register(ClinicProfile)
class ClinicProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "email", "banner_enabled"]
    fieldsets = [
        (None, {"fields": ["name", "tagline", "phone", "sms_number", "email"]}),
        (
            _("Announcement banner"),
            {"fields": ["banner_enabled", "banner_text", "banner_link_text", "banner_link_url"]},
        ),
        (_("Privacy"), {"fields": ["privacy_version"]}),
    ]

    def has_add_permission(self, request):
        # One clinic per site: edit the existing profile instead of adding another.
        return super().has_add_permission(request) and not ClinicProfile.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "street", "city", "is_active", "order"]
    list_editable = ["order"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["weekday", "opens", "closes"]


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "title", "credentials", "is_active", "order"]
    list_filter = ["is_active"]
    search_fields = ["name", "title"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "title", "credentials", "summary", "bio"]}),
        (_("Photo"), {"fields": ["photo", "photo_alt"]}),
        (_("Work"), {"fields": ["video_room_url", "user", "order", "is_active"]}),
    ]
