"""Scheduling and the front desk's booking workflow in Django admin.

Every change of a booking's state goes through booking.workflow (the rules, the history and the
emails live there); this module only offers those changes as buttons, list actions and small forms.
The views behind the buttons live in booking.admin_views.
"""

import re
from datetime import datetime, time, timedelta

import phonenumbers
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Now
from django.forms.models import BaseInlineFormSet
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clinic.admin import PractitionerAdmin as ClinicPractitionerAdmin
from clinic.models import Practitioner

from . import admin_views, emails, exports
from .models import (
    Booking,
    BookingAccess,
    BookingEvent,
    BookingStatus,
    Closure,
    OutboxEmail,
    OutboxStatus,
    Service,
    TimeOff,
    WorkingHours,
)

PATIENT_FIELDS = ["patient_name", "email", "phone", "phone_as_typed", "contact_preference", "patient_type", "reason"]


def clinic_tz():
    return timezone.get_default_timezone()


def local_midnight(day):
    return datetime.combine(day, time.min, tzinfo=clinic_tz())


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


class WorkingHoursFormSet(BaseInlineFormSet):
    """Catch overlaps between rows of the same form too (the model only checks saved rows)."""

    def clean(self):
        super().clean()
        seen = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            weekday, start, end = data.get("weekday"), data.get("start"), data.get("end")
            if weekday is None or start is None or end is None:
                continue
            for other_day, other_start, other_end in seen:
                if weekday == other_day and start < other_end and other_start < end:
                    raise ValidationError(
                        gettext("Two rows of hours overlap on %(day)s (%(a)s and %(b)s). Change or remove one.")
                        % {
                            "day": dict(WorkingHours._meta.get_field("weekday").choices)[weekday],
                            "a": f"{start:%H:%M}–{end:%H:%M}",
                            "b": f"{other_start:%H:%M}–{other_end:%H:%M}",
                        }
                    )
            seen.append((weekday, start, end))


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


# --- Bookings ----------------------------------------------------------------------------------


class WhenFilter(admin.SimpleListFilter):
    title = _("when")
    parameter_name = "when"

    def lookups(self, request, model_admin):
        return [
            ("today", _("Today")),
            ("tomorrow", _("Tomorrow")),
            ("week", _("This week")),
            ("upcoming", _("Upcoming")),
            ("past", _("Past")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate(timezone=clinic_tz())
        value = self.value()
        if value == "today":
            return queryset.filter(start__gte=local_midnight(today), start__lt=local_midnight(today + timedelta(1)))
        if value == "tomorrow":
            day = today + timedelta(days=1)
            return queryset.filter(start__gte=local_midnight(day), start__lt=local_midnight(day + timedelta(1)))
        if value == "week":
            monday = today - timedelta(days=today.weekday())
            return queryset.filter(start__gte=local_midnight(monday), start__lt=local_midnight(monday + timedelta(7)))
        if value == "upcoming":
            return queryset.filter(start__gte=timezone.now())
        if value == "past":
            return queryset.filter(start__lt=timezone.now())
        return queryset


class BookingEventInline(admin.TabularInline):
    """The booking's history: read-only, written only by booking.workflow."""

    model = BookingEvent
    extra = 0
    fields = ["at", "actor", "from_status", "to_status", "note"]
    readonly_fields = fields
    can_delete = False
    verbose_name = _("history entry")
    verbose_name_plural = _("history")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("booking.view_booking")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def phone_e164(term):
    """The E.164 form of a phone number however it was typed, or None."""
    try:
        number = phonenumbers.parse(term, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


REFERENCE_RE = re.compile(r"^([A-Za-z0-9]{3})-?([A-Za-z0-9]{3})$")


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["reference", "start_local", "patient_name", "service", "visit_type", "practitioner", "status_badge"]
    list_display_links = ["reference"]
    list_filter = [WhenFilter, "status", "visit_type", "service", "practitioner", "location"]
    list_select_related = ["service", "practitioner", "location"]
    search_fields = ["reference", "patient_name", "email", "phone", "phone_as_typed"]
    search_help_text = _("Reference, name, email or phone (in any format).")
    date_hierarchy = "start"
    list_per_page = 50
    inlines = [BookingEventInline]
    actions = [
        "confirm_selected",
        "decline_selected",
        "cancel_selected",
        "complete_selected",
        "no_show_selected",
        "export_csv",
    ]
    editable_fields = ["telehealth_url", "staff_notes"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    class Media:
        css = {"all": ["admin-extra/booking.css"]}

    # The list --------------------------------------------------------------------------------

    def get_ordering(self, request):
        # Upcoming first (soonest at the top), then the past (most recent first).
        upcoming = Q(start__gte=Now())
        return [
            Case(When(upcoming, then=Value(0)), default=Value(1)).asc(),
            Case(When(upcoming, then=F("start"))).asc(nulls_last=True),
            F("start").desc(),
        ]

    @admin.display(description=_("start"), ordering="start")
    def start_local(self, obj):
        return date_format(timezone.localtime(obj.start, clinic_tz()), "D j M Y, H:i")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="booking-status booking-status--{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description=_("when"))
    def when_display(self, obj):
        start = timezone.localtime(obj.start, clinic_tz())
        end = timezone.localtime(obj.end, clinic_tz())
        return f"{date_format(start, 'l j F Y, H:i')}–{end:%H:%M} ({start:%Z})"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return results, may_have_duplicates
        extra = Q()
        e164 = phone_e164(term)
        if e164:
            extra |= Q(phone=e164)
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 4 and not re.search(r"[A-Za-z@]", term):
            # Part of a number ("555 0134"): match the stored digits whatever the punctuation.
            extra |= Q(phone__contains=digits)
        match = REFERENCE_RE.match(term)
        if match:
            extra |= Q(reference=f"{match.group(1)}-{match.group(2)}".upper())
        if extra:
            results = results | queryset.filter(extra)
        return results, may_have_duplicates

    # The page --------------------------------------------------------------------------------

    def has_add_permission(self, request):
        # Bookings come from the website (or are moved here), so every one passes the availability rules.
        return False

    def has_delete_permission(self, request, obj=None):
        # Bookings are never deleted (the counts matter); old ones are anonymised by purge_bookings.
        return False

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                None,
                {
                    "fields": [
                        "reference",
                        "status_badge",
                        "when_display",
                        "service",
                        "visit_type",
                        "location",
                        "practitioner",
                    ]
                },
            )
        ]
        if request.user.has_perm("booking.view_booking"):
            fieldsets.append((_("Patient"), {"fields": PATIENT_FIELDS}))
        if obj is not None and obj.is_telehealth:
            fieldsets.append((_("Telehealth"), {"fields": ["telehealth_url"]}))
        fieldsets.append((_("Staff notes"), {"fields": ["staff_notes"]}))
        fieldsets.append(
            (
                _("Record"),
                {
                    "classes": ["collapse"],
                    "fields": [
                        "created",
                        "updated",
                        "consent_at",
                        "privacy_version",
                        "ics_sequence",
                        "reminder_queued_at",
                        "anonymised_at",
                    ],
                },
            )
        )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = [f for _name, options in self.get_fieldsets(request, obj) for f in options["fields"]]
        return [f for f in fields if f not in self.editable_fields]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        booking = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if booking is not None and request.method == "GET":
            BookingAccess.objects.create(booking=booking, user=request.user)
        if booking is not None and self.has_change_permission(request, booking):
            extra_context["booking_actions"] = admin_views.available_actions(booking)
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def construct_change_message(self, request, form, formsets, add=False):
        # Only the names of the changed fields, never their values: the admin's history must not
        # carry patient details (object_repr is the reference, see Booking.__str__).
        return super().construct_change_message(request, form, [], add)

    def get_urls(self):
        def wrap(view, **kwargs):
            return self.admin_site.admin_view(view, **kwargs)

        return [
            path("schedule/day/", wrap(self.schedule_day_view), name="booking_booking_schedule_day"),
            path("schedule/week/", wrap(self.schedule_week_view), name="booking_booking_schedule_week"),
            path("export/", wrap(self.export_view), name="booking_booking_export"),
            path("<path:object_id>/do/<str:action>/", wrap(self.transition_view), name="booking_booking_transition"),
            path("<path:object_id>/confirm/", wrap(self.confirm_view), name="booking_booking_confirm"),
            path("<path:object_id>/decline/", wrap(self.decline_view), name="booking_booking_decline"),
            path("<path:object_id>/reschedule/", wrap(self.reschedule_view), name="booking_booking_reschedule"),
            *super().get_urls(),
        ]

    # Custom views (see booking.admin_views) ----------------------------------------------------

    def schedule_day_view(self, request):
        return admin_views.schedule_day(self, request)

    def schedule_week_view(self, request):
        return admin_views.schedule_week(self, request)

    def export_view(self, request):
        return admin_views.export_filtered(self, request)

    def transition_view(self, request, object_id, action):
        return admin_views.transition(self, request, object_id, action)

    def confirm_view(self, request, object_id):
        return admin_views.confirm(self, request, object_id)

    def decline_view(self, request, object_id):
        return admin_views.decline(self, request, object_id)

    def reschedule_view(self, request, object_id):
        return admin_views.reschedule_page(self, request, object_id)

    # List actions ----------------------------------------------------------------------------

    def has_export_permission(self, request):
        return request.user.has_perm("booking.export_booking")

    @admin.action(description=_("Confirm selected bookings"), permissions=["change"])
    def confirm_selected(self, request, queryset):
        admin_views.bulk_transition(self, request, queryset, BookingStatus.CONFIRMED)

    @admin.action(description=_("Decline selected requests (asks for a reason)"), permissions=["change"])
    def decline_selected(self, request, queryset):
        return admin_views.bulk_decline(self, request, queryset)

    @admin.action(description=_("Cancel selected bookings"), permissions=["change"])
    def cancel_selected(self, request, queryset):
        admin_views.bulk_transition(self, request, queryset, BookingStatus.CANCELLED)

    @admin.action(description=_("Mark selected bookings completed"), permissions=["change"])
    def complete_selected(self, request, queryset):
        admin_views.bulk_transition(self, request, queryset, BookingStatus.COMPLETED)

    @admin.action(description=_("Mark selected bookings as no-show"), permissions=["change"])
    def no_show_selected(self, request, queryset):
        admin_views.bulk_transition(self, request, queryset, BookingStatus.NO_SHOW)

    @admin.action(description=_("Export selected bookings as CSV"), permissions=["export"])
    def export_csv(self, request, queryset):
        return exports.bookings_csv_response(queryset.select_related(*self.list_select_related))


@admin.register(BookingAccess)
class BookingAccessAdmin(admin.ModelAdmin):
    """Who opened which booking: an audit trail, never edited."""

    list_display = ["at", "booking", "user"]
    list_select_related = ["booking", "user"]
    list_filter = ["user"]
    date_hierarchy = "at"
    search_fields = ["booking__reference"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FailedFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("failed", _("Failed")), ("pending", _("Waiting to send"))]

    def queryset(self, request, queryset):
        if self.value() in (OutboxStatus.FAILED, OutboxStatus.PENDING):
            return queryset.filter(status=self.value())
        return queryset


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    """Every email the site sends: failed ones show their error and can be retried."""

    list_display = ["created", "kind", "booking", "recipient", "status", "attempts", "short_error"]
    list_filter = ["status", "kind"]
    list_select_related = ["booking"]
    search_fields = ["booking__reference", "recipient", "subject"]
    date_hierarchy = "created"
    actions = ["resend_failed_emails"]
    fields = ["kind", "booking", "recipient", "subject", "status", "attempts", "last_error", "created", "sent_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        # Retrying is part of working the bookings: whoever may change bookings may retry their emails.
        return request.user.has_perm("booking.view_outboxemail") and request.user.has_perm("booking.change_booking")

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.action(description=_("Send selected failed or waiting emails again"), permissions=["resend"])
    def resend_failed_emails(self, request, queryset):
        retry = list(
            queryset.filter(status__in=[OutboxStatus.FAILED, OutboxStatus.PENDING]).values_list("pk", flat=True)
        )
        skipped = queryset.count() - len(retry)
        sent = emails.send_ids(retry)
        failed = len(retry) - sent
        if sent:
            self.message_user(
                request,
                ngettext("%(count)d email sent.", "%(count)d emails sent.", sent) % {"count": sent},
                messages.SUCCESS,
            )
        if failed:
            self.message_user(
                request,
                ngettext(
                    "%(count)d email failed again; see its error.",
                    "%(count)d emails failed again; see their errors.",
                    failed,
                )
                % {"count": failed},
                messages.ERROR,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d email skipped: it was already sent.",
                    "%(count)d emails skipped: they were already sent.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


admin_views.install_index_counts(admin.site)
