"""What the booking app registers in admin: services, hours, time off, closures, practitioners (with
their hours inline), bookings, the access log and the outbox; and the front desk's panel on the index."""

import re
from datetime import timedelta

from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clinic.admin import PractitionerAdmin as ClinicPractitionerAdmin
from clinic.models import Practitioner

from ..models import (
    Booking,
    BookingAccess,
    BookingPolicy,
    BulkAccess,
    Closure,
    OutboxEmail,
    OutboxStatus,
    Patient,
    PatientAccess,
    PatientMerge,
    Service,
    TimeOff,
    WorkingHours,
)
from ..notifications import emails, outbox
from .bookings import BookingAdmin
from .common import ReadOnlyMixin
from .forms import WorkingHoursFormSet
from .patients import PatientAccessAdmin, PatientAdmin, PatientMergeAdmin
from .schedule import front_desk_index_context


def without_patient_links(text):
    """An email's text with every patient link (view, cancel, move) replaced by a placeholder."""
    prefixes = [
        reverse(name, kwargs={"token": "TOKEN"}).split("TOKEN")[0]
        for name in ("booking:manage", "waitlist:offer", "waitlist:leave")
    ]
    pattern = re.compile(r"\S*(?:" + "|".join(re.escape(p) for p in prefixes) + r")\S*")
    return pattern.sub(gettext("[the patient's own link, not shown to staff]"), text)


def sees_every_practitioner(request):
    """Front desk and managers (who may change bookings) see everyone's hours; practitioners their own."""
    return request.user.has_perm("booking.change_booking")


class OwnPractitionerMixin:
    """Limit a practitioner's login to the rows of their own Practitioner record."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not sees_every_practitioner(request):
            qs = qs.filter(practitioner__user=request.user)
        return qs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "practitioner" and not sees_every_practitioner(request):
            kwargs["queryset"] = Practitioner.objects.filter(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- Services, hours, time off, closures ---------------------------------------------------------


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "duration_minutes", "buffer_minutes", "price_text", "in_clinic", "telehealth", "is_active"]
    list_filter = ["is_active", "in_clinic", "telehealth", "treatment"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["practitioners"]
    list_select_related = ["treatment"]


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    extra = 0
    fields = ["weekday", "start", "end", "location"]


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0
    fields = ["start", "end", "reason"]

    def get_queryset(self, request):
        # Recent and future time off only: the page stays short however long someone works here.
        return super().get_queryset(request).filter(end__gte=timezone.now() - timedelta(days=30))


admin.site.unregister(Practitioner)


@admin.register(Practitioner)
class PractitionerAdmin(ClinicPractitionerAdmin):
    inlines = [WorkingHoursInline, TimeOffInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(WorkingHours)
class WorkingHoursAdmin(OwnPractitionerMixin, admin.ModelAdmin):
    list_display = ["practitioner", "weekday", "start", "end", "location"]
    list_filter = ["practitioner", "weekday", "location"]
    list_select_related = ["practitioner", "location"]
    ordering = ["practitioner__name", "weekday", "start"]


@admin.register(TimeOff)
class TimeOffAdmin(OwnPractitionerMixin, admin.ModelAdmin):
    list_display = ["practitioner", "start", "end", "reason"]
    list_filter = ["practitioner"]
    list_select_related = ["practitioner"]
    date_hierarchy = "start"


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["date", "reason"]
    date_hierarchy = "date"


# --- Bookings, who opened them, and their emails -------------------------------------------------

admin.site.register(Booking, BookingAdmin)
admin.site.register(Patient, PatientAdmin)
admin.site.register(PatientAccess, PatientAccessAdmin)
admin.site.register(PatientMerge, PatientMergeAdmin)
admin.site.add_index_context(front_desk_index_context)


@admin.register(BookingAccess)
class BookingAccessAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Who opened which booking: an audit trail, never edited."""

    list_display = ["at", "booking", "user"]
    list_select_related = ["booking", "user"]
    list_filter = ["user"]
    date_hierarchy = "at"
    search_fields = ["booking__reference"]


@admin.register(BulkAccess)
class BulkAccessAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Reads of many bookings at once (list, schedules, CSV exports): who, when, which filter, how many rows."""

    list_display = ["at", "user", "view", "query", "rows"]
    list_select_related = ["user"]
    list_filter = ["view", "user"]
    date_hierarchy = "at"


class FailedFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("failed", _("Failed")), ("pending", _("Waiting to send"))]

    def queryset(self, request, queryset):
        if self.value() in (OutboxStatus.FAILED, OutboxStatus.PENDING):
            return queryset.filter(status=self.value())
        return queryset


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return list(emails.kind_labels().items())

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Every email the site sends: failed ones show their error and can be retried."""

    # Narrow columns first, so status, attempts and the error fit at 1280 px without scrolling sideways.
    list_display = ["created", "kind_label", "booking", "status", "attempts", "short_error", "recipient"]
    list_display_links = ["created"]
    list_filter = ["status", KindFilter]
    list_select_related = ["booking"]
    search_fields = ["booking__reference", "recipient", "subject"]
    date_hierarchy = "created"
    actions = ["resend_failed_emails"]
    fields = [
        "kind_label",
        "booking",
        "recipient",
        "subject",
        "status",
        "attempts",
        "last_error",
        "created",
        "send_after",
        "sent_at",
        "message_id",
        "email_text",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["admin-extra/booking.css"]}

    def has_resend_permission(self, request):
        # Retrying is part of working the bookings: whoever may change bookings may retry their emails.
        return request.user.has_perm("booking.view_outboxemail") and request.user.has_perm("booking.change_booking")

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj):
        return emails.kind_labels().get(obj.kind, obj.kind)

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.display(description=_("text of the email"))
    def email_text(self, obj):
        # The patient's own link would let staff act as the patient: it is shown as a placeholder.
        text = obj.body
        if not text and obj.context.get("booking"):
            # Not sent yet: the worker writes the text when it sends; show what it will write.
            rendered = emails.render(obj)
            text = rendered[0] if rendered else ""
        return format_html('<div class="outbox-body">{}</div>', without_patient_links(text))

    @admin.action(description=_("Send selected failed emails again"), permissions=["resend"])
    def resend_failed_emails(self, request, queryset):
        # The worker sends them (exactly once each); this only gives them fresh attempts, due now.
        requeued = outbox.retry_now(queryset)
        skipped = queryset.count() - requeued
        if requeued:
            self.message_user(
                request,
                ngettext(
                    "%(count)d email will be sent again within a minute.",
                    "%(count)d emails will be sent again within a minute.",
                    requeued,
                )
                % {"count": requeued},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d email skipped: only failed emails can be sent again.",
                    "%(count)d emails skipped: only failed emails can be sent again.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


@admin.register(BookingPolicy)
class BookingPolicyAdmin(admin.ModelAdmin):
    """One row: how online requests are handled."""

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not BookingPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
