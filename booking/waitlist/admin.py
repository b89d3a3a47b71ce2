"""The waitlist in admin: entries per service and practitioner (filters), the offers sent and their outcome,
adding a caller, and offering a chosen free time to a chosen waiting patient."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clinic.datetimes import local_label

from ..admin.audit import record_bulk_read, shown
from ..admin.common import ReadOnlyMixin
from ..admin.phone import one_id, parse_start
from ..forms import decode_slot, encode_slot
from ..models import BulkAccess
from ..scheduling.availability import booking_window, slots_for
from ..scheduling.slotcheck import free_at
from . import offers
from .forms import StaffEntryForm, StaffOfferForm
from .models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer


class OfferInline(ReadOnlyMixin, admin.TabularInline):
    model = WaitlistOffer
    fk_name = "entry"
    extra = 0
    can_delete = False
    fields = ["when", "practitioner", "outcome", "created", "expires_at", "decided_at", "offered_by", "booking"]
    readonly_fields = fields
    verbose_name_plural = _("offers sent")

    @admin.display(description=_("time offered"))
    def when(self, obj):
        return local_label(obj.start)

    @admin.display(description=_("outcome"))
    def outcome(self, obj):
        if obj.status == OfferStatus.OFFERED and not obj.is_held():
            return gettext("Hold ended; closed on the worker's next pass")
        return obj.get_status_display()


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    form = StaffEntryForm
    list_display = [
        "name",
        "service",
        "with_whom",
        "days_display",
        "parts_display",
        "until",
        "urgent",
        "status_text",
        "created",
        "offer_link",
    ]
    list_filter = ["status", "service", "practitioner", "visit_type", "urgent"]
    search_fields = ["name", "email", "phone", "phone_as_typed"]
    list_select_related = ["service", "practitioner"]
    date_hierarchy = "created"
    inlines = [OfferInline]
    actions = ["take_off"]
    readonly_fields = ["created", "added_by", "booking"]

    # Staff reads are recorded in the bulk read log like the booking and patient lists: the list (and searches) with
    # its row count, each entry's page and "offer a time" page with the entry's id. Never a 403 or a redirect.

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", None) and response.context_data.get("cl")
        if shown(response) and changelist is not None:
            record_bulk_read(request, BulkAccess.View.WAITLIST, len(changelist.result_list))
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context=extra_context)
        if request.method == "GET" and shown(response):
            record_bulk_read(request, BulkAccess.View.WAITLIST_ENTRY, 1, query=f"entry={object_id}")
        return response

    @admin.display(description=_("with"), ordering="practitioner__name")
    def with_whom(self, obj):
        return obj.practitioner.name if obj.practitioner else gettext("Any practitioner")

    @admin.display(description=_("days that suit"))
    def days_display(self, obj):
        return obj.days_display()

    @admin.display(description=_("parts of the day"))
    def parts_display(self, obj):
        return obj.parts_display()

    @admin.display(description=_("status"), ordering="status")
    def status_text(self, obj):
        if obj.status == EntryStatus.WAITING and obj.until < timezone.localdate():
            return gettext("Expired (end date passed)")
        return obj.get_status_display()

    @admin.display(description=_("offer a time"))
    def offer_link(self, obj):
        if obj.status != EntryStatus.WAITING:
            return "—"
        url = reverse("admin:waitlist_waitlistentry_offer", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Offer a free time"))

    def get_changeform_initial_data(self, request):
        """From the patient's page (?patient=<id>): their name and contact details, and the link to their record."""
        initial = super().get_changeform_initial_data(request)
        pk = str(request.GET.get("patient", ""))
        if pk.isdigit() and request.user.has_perm("booking.change_booking"):
            from ..models import Patient

            patient = Patient.objects.filter(pk=pk, anonymised_at__isnull=True).first()
            if patient is not None:
                initial.update(
                    patient=patient.pk,
                    name=patient.name,
                    email=patient.email,
                    phone=patient.phone,
                    contact_preference=patient.contact_preference,
                )
        return initial

    def save_model(self, request, obj, form, change):
        if not change:
            obj.added_by = request.user
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                offers.welcome(obj)

    @admin.action(description=_("Take the selected patients off the waitlist"), permissions=["change"])
    def take_off(self, request, queryset):
        count = sum(offers.leave(entry) for entry in queryset)
        self.message_user(
            request, ngettext("%d patient left the waitlist.", "%d patients left the waitlist.", count) % count
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/offer/",
                self.admin_site.admin_view(self.offer_view),
                name="waitlist_waitlistentry_offer",
            ),
            path(
                "offer-time/",
                self.admin_site.admin_view(self.offer_time_view),
                name="waitlist_waitlistentry_offer_time",
            ),
            *super().get_urls(),
        ]

    def _page(self, request, template, title, **context):
        return TemplateResponse(
            request,
            f"admin/waitlist/{template}",
            {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **context},
        )

    def offer_view(self, request, pk):
        """Offer a free time to this waiting patient (their service and choices; times that suit first)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        entry = WaitlistEntry.objects.select_related("service", "practitioner", "location").filter(pk=pk).first()
        if entry is None:
            raise Http404(gettext("No waitlist entry with this id."))
        free = slots_for(
            entry.service, entry.visit_type, entry.location, entry.practitioner, use_cache=False, honour_holds=False
        )
        held = _held_labels(free)
        names = dict(entry.service.practitioners.values_list("pk", "name"))
        choices = []
        for start, pids in sorted(free.items(), key=lambda item: (not entry.suits(item[0]), item[0])):
            for pid in pids:
                label = f"{local_label(start, 'D j M, H:i')} — {names.get(pid, pid)}"
                if entry.suits(start):
                    label += " · " + gettext("suits the patient")
                if (pid, start) in held:
                    label += " · " + gettext("held for another patient")
                choices.append((f"{pid}:{encode_slot(start)}", label))
            if len(choices) > 200:
                break
        form = StaffOfferForm(request.POST or None, choices=choices)
        if request.method == "POST" and form.is_valid():
            pid, slot = form.cleaned_data["time"].split(":", 1)
            problem = _offer(request, entry, int(pid), decode_slot(slot))
            if problem is None:
                return redirect("admin:waitlist_waitlistentry_change", entry.pk)
            form.add_error("time", problem)
        if request.method == "GET":
            record_bulk_read(request, BulkAccess.View.WAITLIST_ENTRY, 1, query=f"entry={entry.pk}")
        return self._page(
            request,
            "offer.html",
            gettext("Offer a free time to %(name)s") % {"name": entry.name},
            entry=entry,
            form=form,
            hold_minutes=offers.hold().total_seconds() // 60,
        )

    def offer_time_view(self, request):
        """From a free time on the calendar (?practitioner=<id>&start=<ISO 8601>): the waiting patients it suits,
        in turn, each with a button that offers it to them."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        # Read as the phone booking page reads the same link: a year out of range or an id too large for the
        # database is a link that was not made by the calendar.
        start = parse_start(request.GET.get("start"))
        pid = one_id(request.GET.get("practitioner"))
        if start is None or pid is None:
            raise Http404(gettext("Open this page from a free time on the calendar."))
        entries = [
            e
            for e in WaitlistEntry.objects.waiting()
            .filter(service__practitioners=pid)
            .select_related("service", "practitioner", "location")
            .in_turn()
            if (e.practitioner_id in (None, pid)) and e.suits(start)
        ]
        if request.method == "POST":
            entry = next((e for e in entries if str(e.pk) == request.POST.get("entry")), None)
            if entry is None:
                messages.error(request, gettext("Please choose a patient from the list."))
            else:
                problem = _offer(request, entry, pid, start)
                if problem is None:
                    return redirect("admin:waitlist_waitlistentry_change", entry.pk)
                messages.error(request, problem)
        if request.method == "GET":
            record_bulk_read(request, BulkAccess.View.WAITLIST, len(entries))
        return self._page(
            request,
            "offer_time.html",
            gettext("Offer %(when)s to a waiting patient") % {"when": local_label(start, "l j F, H:i")},
            entries=entries,
            start=start,
        )


def _held_labels(free):
    starts = list(free)
    if not starts:
        return set()
    rows = WaitlistOffer.objects.holding().filter(
        start__lt=max(starts) + (max(starts) - min(starts)), blocked_until__gt=min(starts)
    )
    held = set()
    for offer in rows.values("practitioner_id", "start", "blocked_until"):
        for start in starts:
            if offer["start"] <= start < offer["blocked_until"]:
                held.add((offer["practitioner_id"], start))
    return held


def _offer(request, entry, pid, start):
    """Offer `start` with practitioner `pid` to `entry` for the staff member; None when done, else the problem."""
    if start is None:
        return gettext("Please choose a time to offer.")
    if start < booking_window()[0] + offers.hold():
        # The patient books online, so the online minimum notice holds until the hold ends.
        return gettext("This time is too soon to offer online. Book it for the patient by phone instead.")
    with transaction.atomic():
        if entry.status != EntryStatus.WAITING:
            return gettext("This patient is no longer waiting.")
        practitioner = entry.service.practitioners.filter(pk=pid).first()
        if practitioner is None or pid not in free_at(
            entry.service, entry.visit_type, entry.location, practitioner, start
        ):
            return gettext("That time is no longer free. Please choose another.")
        try:
            with transaction.atomic():
                offer = offers.make_offer(entry, pid, start, by=request.user)
        except IntegrityError:
            return gettext("This patient already has an open offer. Wait until it ends, then offer another time.")
    messages.success(
        request,
        gettext("Offered %(when)s to %(name)s; the time is held for them until %(until)s.")
        % {"when": local_label(offer.start), "name": entry.name, "until": local_label(offer.expires_at, "H:i")},
    )
    return None


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["when", "practitioner", "service", "patient", "status", "created", "expires_at", "decided_at"]
    list_filter = ["status", "practitioner", "service"]
    list_select_related = ["practitioner", "service", "entry"]
    search_fields = ["entry__name", "entry__email"]
    date_hierarchy = "start"
    exclude = ["token_hash"]

    def changelist_view(self, request, extra_context=None):
        # The list names the patients: recorded like the waitlist itself.
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", None) and response.context_data.get("cl")
        if shown(response) and changelist is not None:
            record_bulk_read(request, BulkAccess.View.WAITLIST_OFFERS, len(changelist.result_list))
        return response

    @admin.display(description=_("time offered"), ordering="start")
    def when(self, obj):
        return local_label(obj.start)

    @admin.display(description=_("patient"), ordering="entry__name")
    def patient(self, obj):
        url = reverse("admin:waitlist_waitlistentry_change", args=[obj.entry_id])
        return format_html('<a href="{}">{}</a>', url, obj.entry.name)
