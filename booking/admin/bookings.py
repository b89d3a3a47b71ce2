"""The booking list and a booking's page in admin.

The buttons, action pages and list actions come from FrontDeskActionsMixin (booking.admin.frontdesk),
the day and week schedule from ScheduleMixin (booking.admin.schedule), CSV export from ExportMixin.
"""

import re
from datetime import timedelta

from django.contrib import admin
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clinic import phones
from clinic.datetimes import clinic_tz, local_label, local_midnight, zone_label

from ..models import BookingEvent, BulkAccess
from ..workflow import arrival_label
from .audit import record_booking_read, record_bulk_read, shown
from .common import ReadOnlyMixin
from .courses import CourseAdminMixin, course_actions, course_summary
from .export import ExportMixin
from .frontdesk import FRONT_DESK_ACTIONS, FrontDeskActionsMixin, available_actions, shown_version_field
from .phone import PhoneBookingMixin
from .schedule import ScheduleMixin

# The patient record (current contact details, visits) is a link away; the booking's own copy is what was
# given with this booking.
PATIENT_FIELDS = [
    "patient_link",
    "patient_name",
    "email",
    "phone",
    "phone_as_typed",
    "contact_preference",
    "patient_type",
    "reason",
]
RECORD_FIELDS = [
    "created",
    "updated",
    "consent_at",
    "privacy_version",
    "ics_sequence",
    "reminder_queued_at",
    "anonymised_at",
]
REFERENCE_RE = re.compile(r"^([A-Za-z0-9]{3})-?([A-Za-z0-9]{3})$")


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


class BookingEventInline(ReadOnlyMixin, admin.TabularInline):
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


class BookingAdmin(
    PhoneBookingMixin, FrontDeskActionsMixin, CourseAdminMixin, ScheduleMixin, ExportMixin, admin.ModelAdmin
):
    list_display = [
        "reference",
        "start_local",
        "patient_display",
        "service",
        "visit_type",
        "practitioner",
        "status_badge",
    ]
    list_display_links = ["reference"]
    list_filter = [WhenFilter, "status", "visit_type", "service", "practitioner", "location"]
    list_select_related = ["service", "practitioner", "location", "patient"]
    search_fields = ["reference", "patient_name", "email", "phone", "phone_as_typed", "patient__name", "patient__email"]
    search_help_text = _("Reference, name, email or phone (in any format).")
    date_hierarchy = "start"
    list_per_page = 50
    inlines = [BookingEventInline]
    actions = [*FRONT_DESK_ACTIONS, "export_csv"]
    editable_fields = ["telehealth_url", "staff_notes"]
    # No "view on site": a booking's page on the site is the patient's own signed link (see Booking.patient_url).
    view_on_site = False
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    class Media:
        css = {"all": ["admin-extra/booking.css"]}

    # The list --------------------------------------------------------------------------------

    def get_queryset(self, request):
        # Every booking view (list, page, schedules, export, actions) reads through here.
        return super().get_queryset(request).visible_to(request.user)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", None) and response.context_data.get("cl")
        if shown(response) and changelist is not None:
            record_bulk_read(request, BulkAccess.View.LIST, len(changelist.result_list))
        return response

    def get_ordering(self, request):
        # Upcoming first (soonest at the top), then the past (most recent first).
        # The application's clock, like every other "now" in the site (not the database server's).
        upcoming = Q(start__gte=timezone.now())
        return [
            Case(When(upcoming, then=Value(0)), default=Value(1)).asc(),
            Case(When(upcoming, then=F("start"))).asc(nulls_last=True),
            F("start").desc(),
        ]

    @admin.display(description=_("start"), ordering="start")
    def start_local(self, obj):
        return local_label(obj.start)

    @admin.display(description=_("patient"), ordering="patient__name")
    def patient_display(self, obj):
        return obj.patient.name

    @admin.display(description=_("patient record"))
    def patient_link(self, obj):
        url = reverse("admin:booking_patient_change", args=[obj.patient_id])
        return format_html('<a href="{}">{}</a>', url, obj.patient.name)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        # The row also carries the version it shows, so a list action never acts on a changed booking.
        arrived = arrival_label(obj)
        return format_html(
            '<span class="booking-status booking-status--{}">{}</span>{}<input type="hidden" name="{}" value="{}">',
            obj.status,
            obj.get_status_display(),
            format_html(' <span class="booking-arrived">{}</span>', arrived) if arrived else "",
            shown_version_field(obj.pk),
            obj.version,
        )

    @admin.display(description=_("when"))
    def when_display(self, obj):
        return f"{local_label(obj.start, 'l j F Y, H:i')}–{local_label(obj.end, 'H:i')} {zone_label()}"

    @admin.display(description=_("course of treatment"))
    def course_display(self, obj):
        return course_summary(obj)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return results, may_have_duplicates
        extra = Q()
        e164 = phones.e164(term, strict=False)
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

    def has_delete_permission(self, request, obj=None):
        # Bookings are never deleted (the counts matter); old ones are anonymised by purge_bookings.
        return False

    def get_fieldsets(self, request, obj=None):
        main = ["reference", "status_badge", "when_display", "service", "visit_type", "location", "practitioner"]
        if obj is not None and obj.course_id:
            main.append("course_display")
        fieldsets = [(_("Appointment"), {"fields": main})]
        if request.user.has_perm("booking.view_booking"):
            fieldsets.append((_("Patient"), {"fields": PATIENT_FIELDS}))
        if obj is not None and obj.is_telehealth:
            fieldsets.append((_("Telehealth"), {"fields": ["telehealth_url"]}))
        fieldsets.append((_("Staff notes"), {"fields": ["staff_notes"]}))
        fieldsets.append((_("Record"), {"classes": ["collapse"], "fields": RECORD_FIELDS}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = [f for _name, options in self.get_fieldsets(request, obj) for f in options["fields"]]
        return [f for f in fields if f not in self.editable_fields]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        booking = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if booking is not None and self.has_change_permission(request, booking):
            extra_context["booking_actions"] = available_actions(booking) + course_actions(booking)
        response = super().change_view(request, object_id, form_url, extra_context=extra_context)
        if booking is not None and request.method == "GET" and shown(response):
            record_booking_read(request, booking)  # only a page that was shown; never a 403 or a redirect
        return response

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
            # Only CSS classes, the same for everyone: served without a sign-in.
            path("schedule/grid.css", self.schedule_css_view, name="booking_booking_schedule_css"),
            path("export/", wrap(self.export_view), name="booking_booking_export"),
            path("<path:object_id>/do/<str:action>/", wrap(self.transition_view), name="booking_booking_transition"),
            path("<path:object_id>/confirm/", wrap(self.confirm_view), name="booking_booking_confirm"),
            path("<path:object_id>/decline/", wrap(self.decline_view), name="booking_booking_decline"),
            path("<path:object_id>/reschedule/", wrap(self.reschedule_view), name="booking_booking_reschedule"),
            path("<path:object_id>/course/", wrap(self.course_view), name="booking_booking_course"),
            path(
                "<path:object_id>/course/cancel/", wrap(self.course_cancel_view), name="booking_booking_course_cancel"
            ),
            *super().get_urls(),
        ]
