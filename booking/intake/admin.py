"""Intake forms in admin: status only. Answers are never shown, edited or listed here (so never in admin's change
history either); whoever may read them follows the "Read" link to the practitioner's page, which records the
read. The access log is for the privacy officer."""

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from booking.admin.common import ReadOnlyMixin

from . import access, gate
from .models import HealthRecordAccess, IntakeForm


@admin.register(IntakeForm)
class IntakeFormAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["booking_reference", "kind", "status", "created", "completed_at", "lock_state", "read_link"]
    list_filter = ["status", "kind"]
    search_fields = ["booking__reference"]
    list_select_related = ["booking"]
    fields = ["booking_reference", "kind", "status", "questionnaire_version", "created", "completed_at", "lock_state"]
    readonly_fields = fields
    actions = ["unlock"]

    def get_queryset(self, request):
        readable = access.readable_forms(request.user)
        queryset = super().get_queryset(request).annotate(readable=Exists(readable.filter(pk=OuterRef("pk"))))
        if request.user.has_perm("booking.change_booking") or access.is_privacy_officer(request.user):
            return queryset  # the front desk sees every form's status (never its answers)
        return queryset.filter(readable=True)

    @admin.display(description=_("booking"), ordering="booking__reference")
    def booking_reference(self, obj):
        return obj.booking.reference

    @admin.display(description=_("date-of-birth check"))
    def lock_state(self, obj):
        return _("Locked") if obj.is_locked else _("Open")

    @admin.display(description=_("answers"))
    def read_link(self, obj):
        if obj.is_complete and getattr(obj, "readable", False):
            return format_html('<a href="{}">{}</a>', obj.staff_url(), _("Read (recorded)"))
        return "—"

    def has_unlock_permission(self, request):
        return request.user.has_perm("booking.change_booking")

    @admin.action(
        description=_("Unlock the date-of-birth check (after confirming who the patient is)"), permissions=["unlock"]
    )
    def unlock(self, request, queryset):
        count = gate.unlock(queryset)
        self.message_user(
            request, ngettext("%(n)d form unlocked.", "%(n)d forms unlocked.", count) % {"n": count}, messages.SUCCESS
        )


@admin.register(HealthRecordAccess)
class HealthRecordAccessAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["at", "actor", "what", "form", "record", "rows"]
    list_filter = ["what", "actor"]
    list_select_related = ["form__booking", "record__form"]
    date_hierarchy = "at"

    def has_view_permission(self, request, obj=None):
        return access.is_privacy_officer(request.user)

    def has_module_permission(self, request):
        return access.is_privacy_officer(request.user)
