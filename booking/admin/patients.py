"""Patient records in admin: search "typed any way", the patient's page (contact details, visits, counts,
notes, "Book for this patient"), and merging two records that are one person.

Who sees what follows the bookings: the front desk every patient, a practitioner only patients with a
booking with them (another practitioner's patient is a 403, and nothing is logged), editors none. Every
patient page shown is recorded (PatientAccess), like a booking's page; the list and searches as bulk reads.
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clinic import phones
from clinic.datetimes import local_label

from .. import patients
from ..intake.access import forms_on_patient_page
from ..models import Booking, BulkAccess, Patient, PatientAccess
from .audit import record_bulk_read, shown
from .common import ReadOnlyMixin, change_url

PAST_VISITS_SHOWN = 50


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "name",
            "email",
            "phone",
            "date_of_birth",
            "contact_preference",
            "may_book_online",
            "possible_duplicate_of",
            "notes",
        ]
        widgets = {"phone": forms.TextInput(attrs={"type": "tel", "inputmode": "tel"})}

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(gettext("Enter the patient's name."))
        return name

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        if not raw:
            return ""
        e164 = phones.e164(raw)
        if not e164:
            raise forms.ValidationError(gettext("This isn't a valid phone number. Please include the area code."))
        return e164

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if born and not (1900 <= born.year and born <= timezone.localdate()):
            raise forms.ValidationError(gettext("Give a date of birth between 1900 and today."))
        return born

    def clean_possible_duplicate_of(self):
        other = self.cleaned_data["possible_duplicate_of"]
        if other is not None and self.instance.pk == other.pk:
            raise forms.ValidationError(gettext("A record cannot be a duplicate of itself."))
        return other


class DuplicateFilter(admin.SimpleListFilter):
    title = _("possible duplicates")
    parameter_name = "duplicate"

    def lookups(self, request, model_admin):
        return [("yes", _("Flagged as a possible duplicate"))]

    def queryset(self, request, queryset):
        return queryset.filter(possible_duplicate_of__isnull=False) if self.value() == "yes" else queryset


class MergeForm(forms.Form):
    keep = forms.TypedChoiceField(
        label=_("Keep this record"), coerce=int, widget=forms.RadioSelect, error_messages={"required": _("Choose one.")}
    )

    def __init__(self, *args, pair, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keep"].choices = [
            (p.pk, f"{p.name} · {p.email or '—'} · {phones.readable(p.phone) if p.phone else '—'} ({p})") for p in pair
        ]


class PatientChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        # The last visit of each listed patient in the same query (a constant number of queries per page).
        return patients.last_visits(super().get_queryset(request, exclude_parameters))


class PatientAdmin(admin.ModelAdmin):
    form = PatientForm
    list_display = ["name", "phone_display", "email", "last_visit", "duplicate_flag"]
    list_filter = [DuplicateFilter, "may_book_online"]
    search_fields = ["name"]  # shows the search box; get_search_results does the real work
    search_help_text = _("Name, email or phone, typed any way (e.g. “rivera alex”, “416 555 01”).")
    list_per_page = 50
    actions = ["merge_selected"]
    readonly_fields = ["record_number", "last_signed_in", "created", "updated"]
    raw_id_fields = ["possible_duplicate_of"]

    class Media:
        css = {"all": ["admin-extra/booking.css"]}

    def get_fieldsets(self, request, obj=None):
        return [
            (_("Contact details"), {"fields": ["name", "phone", "email", "contact_preference", "date_of_birth"]}),
            (_("Booking online"), {"fields": ["may_book_online", "last_signed_in", "possible_duplicate_of"]}),
            (_("Notes"), {"fields": ["notes"]}),
            (_("Record"), {"classes": ["collapse"], "fields": ["record_number", "created", "updated"]}),
        ]

    # Who sees which patients -----------------------------------------------------------------

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_delete_permission(self, request, obj=None):
        # Records are merged or anonymised (purge_bookings), never deleted: their bookings and counts matter.
        return False

    def has_module_permission(self, request):
        return super().has_module_permission(request) and request.user.has_perm("booking.view_booking")

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and request.user.has_perm("booking.view_booking")

    # The list --------------------------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        return patients.search(queryset, search_term), False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", None) and response.context_data.get("cl")
        if shown(response) and changelist is not None:
            record_bulk_read(request, BulkAccess.View.PATIENT_LIST, len(changelist.result_list))
        return response

    @admin.display(description=_("phone"), ordering="phone")
    def phone_display(self, obj):
        return phones.readable(obj.phone) if obj.phone else ""

    @admin.display(description=_("last visit"), ordering="last_start")
    def last_visit(self, obj):
        last = getattr(obj, "last_start", None)
        return local_label(last, "j M Y") if last else ""

    @admin.display(description=_("possible duplicate"))
    def duplicate_flag(self, obj):
        if obj.possible_duplicate_of_id is None:
            return ""
        url = reverse("admin:booking_patient_change", args=[obj.possible_duplicate_of_id])
        return format_html(
            '<a href="{}">{}</a>', url, gettext("Possible duplicate of record %s") % obj.possible_duplicate_of_id
        )

    @admin.display(description=_("last signed in at /visits/"))
    def last_signed_in(self, obj):
        # Set by a successful code sign-in for every record under the address (booking.visits).
        if obj.last_signed_in_at is None:
            return gettext("Never")
        return local_label(obj.last_signed_in_at)

    @admin.display(description=_("record number"))
    def record_number(self, obj):
        return obj.pk

    def get_changelist(self, request, **kwargs):
        return PatientChangeList

    # The patient's page ----------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pk = str(object_id)
        if pk.isdigit() and len(pk) < 19:
            visible = self.get_queryset(request).filter(pk=pk).exists()
            if not visible and Patient.objects.filter(pk=pk).exists():
                raise PermissionDenied  # someone else's patient: refused, and no read is recorded
        patient = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if patient is not None:
            extra_context.update(self.visits_context(request, patient))
        response = super().change_view(request, object_id, form_url, extra_context=extra_context)
        if patient is not None and request.method == "GET" and shown(response):
            PatientAccess.objects.create(patient=patient, user=request.user)
        return response

    def visits_context(self, request, patient):
        now = timezone.now()
        bookings = Booking.objects.filter(patient=patient).select_related("service", "practitioner")
        own_visits_only = not request.user.has_perm("booking.change_booking")
        if own_visits_only:
            # A practitioner lists and counts only their own visits: nothing tells of visits with others.
            bookings = bookings.visible_to(request.user)
        upcoming = list(bookings.filter(start__gte=now).order_by("start"))
        past = list(bookings.filter(start__lt=now).order_by("-start")[:PAST_VISITS_SHOWN])
        for booking in upcoming + past:
            booking.when = local_label(booking.start)
            booking.url = change_url(booking)
        context = {
            "upcoming_visits": upcoming,
            "past_visits": past,
            "past_more": bookings.filter(start__lt=now).count() > len(past),
            "visit_counts": patients.visit_counts(patient, now, bookings=bookings),
            "own_visits_only": own_visits_only,
            # Whether the intake form is complete, never an answer; the link only for those who may read it.
            "intake_forms": forms_on_patient_page(request.user, patient),
        }
        if self.has_book_permission(request) and patient.anonymised_at is None:
            context["book_url"] = reverse("admin:booking_booking_add") + "?" + urlencode({"patient": patient.pk})
        return context

    def has_book_permission(self, request):
        return request.user.has_perm("booking.add_booking") and request.user.has_perm("booking.change_booking")

    def construct_change_message(self, request, form, formsets, add=False):
        # Only the names of the changed fields, never their values (no patient details in admin history).
        return super().construct_change_message(request, form, [], add)

    # Merging ---------------------------------------------------------------------------------

    @admin.action(description=_("Merge the two selected records (one person)…"), permissions=["change"])
    def merge_selected(self, request, queryset):
        pair = list(queryset.order_by("pk")[:3])
        if len(pair) != 2:
            messages.error(request, gettext("Select exactly two patient records to merge."))
            return None
        form = MergeForm(request.POST if "apply" in request.POST else None, pair=pair)
        if "apply" in request.POST and form.is_valid():
            keep = next(p for p in pair if p.pk == form.cleaned_data["keep"])
            other = next(p for p in pair if p.pk != keep.pk)
            merge = patients.merge(keep, other, by=request.user)
            self.log_change(
                request,
                keep,
                gettext("Merged record %(other)s into this one (%(count)d bookings moved).")
                % {"other": merge.merged_id, "count": merge.bookings_moved},
            )
            messages.success(
                request,
                ngettext(
                    "Merged: record %(other)s is now part of %(keep)s; %(count)d booking moved with its history.",
                    "Merged: record %(other)s is now part of %(keep)s; %(count)d bookings moved with their history.",
                    merge.bookings_moved,
                )
                % {"other": merge.merged_id, "keep": keep, "count": merge.bookings_moved},
            )
            return redirect("admin:booking_patient_change", keep.pk)
        for p in pair:
            p.booking_count = p.bookings.count()
        return TemplateResponse(
            request,
            "admin/booking/patient/merge.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": gettext("Merge two patient records"),
                "form": form,
                "pair": pair,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            },
        )


class PatientAccessAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Who opened which patient's page: an audit trail, never edited."""

    list_display = ["at", "patient", "user"]
    list_select_related = ["patient", "user"]
    list_filter = ["user"]
    date_hierarchy = "at"


class PatientMergeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["at", "kept", "merged_id", "bookings_moved", "events_moved", "user"]
    list_select_related = ["kept", "user"]
    date_hierarchy = "at"
