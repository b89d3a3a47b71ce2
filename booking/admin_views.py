"""The front desk's pages inside admin: action buttons, the small forms some actions need (decline
reason, video link, a new time), bulk actions, CSV export of the filtered list, the day and week
schedule, and the counts on the admin index.

All state changes go through booking.workflow, which checks the rules, records a BookingEvent and
queues the right email; this module only asks, calls and reports.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clinic.models import Practitioner

from . import exports
from .availability import slots_for
from .forms import decode_slot, encode_slot, parse_date
from .models import Booking, BookingStatus
from .workflow import NotAllowed, SlotTaken, change_status, reschedule

HIDDEN_IN_SCHEDULE = (BookingStatus.DECLINED, BookingStatus.CANCELLED)
# Actions offered as POST buttons that need no extra input.
DIRECT_ACTIONS = {
    "cancel": BookingStatus.CANCELLED,
    "complete": BookingStatus.COMPLETED,
    "no_show": BookingStatus.NO_SHOW,
    "confirm": BookingStatus.CONFIRMED,
}


def clinic_tz():
    return timezone.get_default_timezone()


def local_midnight(day):
    return datetime.combine(day, time.min, tzinfo=clinic_tz())


def local_label(dt, fmt="D j M Y, H:i"):
    return date_format(timezone.localtime(dt, clinic_tz()), fmt)


def change_url(booking_or_pk):
    pk = getattr(booking_or_pk, "pk", booking_or_pk)
    return reverse("admin:booking_booking_change", args=[pk])


# --- Messages ------------------------------------------------------------------------------------


def done_message(to_status, refs):
    count = len(refs)
    params = {"count": count, "refs": ", ".join(refs)}
    if to_status == BookingStatus.CONFIRMED:
        text = ngettext(
            "Confirmed %(count)d booking (%(refs)s); the patient is emailed the confirmation with a calendar file.",
            "Confirmed %(count)d bookings (%(refs)s); each patient is emailed the confirmation with a calendar file.",
            count,
        )
    elif to_status == BookingStatus.DECLINED:
        text = ngettext(
            "Declined %(count)d request (%(refs)s); the patient is emailed the reason.",
            "Declined %(count)d requests (%(refs)s); each patient is emailed the reason.",
            count,
        )
    elif to_status == BookingStatus.CANCELLED:
        text = ngettext(
            "Cancelled %(count)d booking (%(refs)s); the patient is emailed.",
            "Cancelled %(count)d bookings (%(refs)s); each patient is emailed.",
            count,
        )
    elif to_status == BookingStatus.COMPLETED:
        text = ngettext(
            "Marked %(count)d booking completed (%(refs)s).", "Marked %(count)d bookings completed (%(refs)s).", count
        )
    else:
        text = ngettext(
            "Marked %(count)d booking as no-show (%(refs)s).", "Marked %(count)d bookings as no-show (%(refs)s).", count
        )
    return text % params


def status_change_message(from_status, to_status):
    # Plain words for the admin's history; never any patient detail.
    return gettext("Status: %(from)s → %(to)s") % {
        "from": BookingStatus(from_status).label,
        "to": BookingStatus(to_status).label,
    }


def _apply(model_admin, request, booking, to_status, *, note="", telehealth_url=None):
    """Run one state change; log it in the admin history. Raises NotAllowed."""
    from_status = booking.status
    booking = change_status(booking, to_status, by=request.user, note=note, telehealth_url=telehealth_url)
    model_admin.log_change(request, booking, status_change_message(from_status, to_status))
    return booking


# --- Buttons on the booking page ------------------------------------------------------------------


def needs_video_link(booking):
    return booking.is_telehealth and not booking.video_link


def available_actions(booking, now=None):
    """The buttons shown on a booking's page: only the changes the rules allow right now."""
    now = now or timezone.now()
    pk = booking.pk
    actions = []
    if booking.can_become(BookingStatus.CONFIRMED):
        if needs_video_link(booking):
            actions.append(
                {
                    "label": _("Confirm (add video link)"),
                    "url": reverse("admin:booking_booking_confirm", args=[pk]),
                    "method": "get",
                    "kind": "primary",
                }
            )
        else:
            actions.append(
                {
                    "label": _("Confirm"),
                    "url": reverse("admin:booking_booking_transition", args=[pk, "confirm"]),
                    "method": "post",
                    "kind": "primary",
                }
            )
    if booking.can_become(BookingStatus.DECLINED):
        actions.append(
            {"label": _("Decline…"), "url": reverse("admin:booking_booking_decline", args=[pk]), "method": "get"}
        )
    if booking.start <= now:
        for action, status, label in [
            ("complete", BookingStatus.COMPLETED, _("Mark completed")),
            ("no_show", BookingStatus.NO_SHOW, _("Mark no-show")),
        ]:
            if booking.can_become(status):
                actions.append(
                    {
                        "label": label,
                        "url": reverse("admin:booking_booking_transition", args=[pk, action]),
                        "method": "post",
                    }
                )
    if booking.is_active:
        actions.append(
            {
                "label": _("Reschedule…"),
                "url": reverse("admin:booking_booking_reschedule", args=[pk]),
                "method": "get",
            }
        )
    if booking.can_become(BookingStatus.CANCELLED):
        actions.append(
            {
                "label": _("Cancel booking"),
                "url": reverse("admin:booking_booking_transition", args=[pk, "cancel"]),
                "method": "post",
                "kind": "danger",
            }
        )
    return actions


def _booking_for_change(model_admin, request, object_id):
    booking = model_admin.get_object(request, object_id)
    if booking is None:
        raise Http404(gettext("No booking with this id."))
    if not model_admin.has_change_permission(request, booking):
        raise PermissionDenied
    return booking


def _page(model_admin, request, template, booking, title, **context):
    opts = model_admin.opts
    return TemplateResponse(
        request,
        f"admin/booking/booking/{template}",
        {
            **model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": title,
            "original": booking,
            "booking": booking,
            "booking_when": local_label(booking.start, "l j F Y, H:i") if booking else "",
            "change_url": change_url(booking) if booking else "",
            "media": model_admin.media,
            **context,
        },
    )


def transition(model_admin, request, object_id, action):
    """POST from a button on the booking page: confirm, cancel, complete, no-show."""
    booking = _booking_for_change(model_admin, request, object_id)
    if request.method != "POST":
        return redirect(change_url(booking))
    if action == "decline":
        return redirect("admin:booking_booking_decline", booking.pk)
    to_status = DIRECT_ACTIONS.get(action)
    if to_status is None:
        raise Http404(gettext("Unknown action."))
    if to_status == BookingStatus.CONFIRMED and needs_video_link(booking):
        return redirect("admin:booking_booking_confirm", booking.pk)
    try:
        _apply(model_admin, request, booking, to_status, note=request.POST.get("note", "")[:500])
    except NotAllowed as exc:
        messages.error(request, gettext("%(ref)s was not changed: %(reason)s") % {"ref": booking, "reason": exc})
    else:
        messages.success(request, done_message(to_status, [booking.reference]))
    return redirect(change_url(booking))


class VideoLinkForm(forms.Form):
    telehealth_url = forms.URLField(
        label=_("Video link"),
        required=False,
        assume_scheme="https",
        help_text=_("The link the patient opens for the video visit, e.g. https://video.example/room/123"),
    )

    def __init__(self, *args, booking, **kwargs):
        super().__init__(*args, **kwargs)
        self.booking = booking
        self.fields["telehealth_url"].initial = booking.telehealth_url
        self.fields["telehealth_url"].required = booking.is_telehealth and not booking.practitioner.video_room_url

    def clean_telehealth_url(self):
        url = self.cleaned_data["telehealth_url"]
        if url and not url.startswith("https://"):
            raise forms.ValidationError(gettext("Use a secure link that starts with https://."))
        return url


def confirm(model_admin, request, object_id):
    """Confirm a booking; for telehealth without a video room, ask for the video link first."""
    booking = _booking_for_change(model_admin, request, object_id)
    form = VideoLinkForm(request.POST or None, booking=booking)
    if request.method == "POST" and form.is_valid():
        try:
            _apply(
                model_admin,
                request,
                booking,
                BookingStatus.CONFIRMED,
                telehealth_url=form.cleaned_data["telehealth_url"] or None,
            )
        except NotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, done_message(BookingStatus.CONFIRMED, [booking.reference]))
            return redirect(change_url(booking))
    return _page(
        model_admin,
        request,
        "confirm.html",
        booking,
        gettext("Confirm %(ref)s") % {"ref": booking},
        form=form,
    )


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason, sent to the patient"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_(
            "Plain and kind, e.g. “We have no physiotherapy times that week; please call us.” No health details."
        ),
        error_messages={"required": _("Please give a reason: the patient reads it in the email.")},
    )


def decline(model_admin, request, object_id):
    """Decline one request with a reason that is emailed to the patient."""
    booking = _booking_for_change(model_admin, request, object_id)
    form = DeclineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _apply(model_admin, request, booking, BookingStatus.DECLINED, note=form.cleaned_data["reason"])
        except NotAllowed as exc:
            messages.error(request, gettext("%(ref)s was not changed: %(reason)s") % {"ref": booking, "reason": exc})
        else:
            messages.success(request, done_message(BookingStatus.DECLINED, [booking.reference]))
        return redirect(change_url(booking))
    return _page(
        model_admin,
        request,
        "decline.html",
        booking,
        gettext("Decline %(ref)s") % {"ref": booking},
        form=form,
        bookings=[booking],
    )


class MoveForm(forms.Form):
    slot = forms.CharField(max_length=20, error_messages={"required": _("Please choose a time.")})
    note = forms.CharField(label=_("Note for the history (optional)"), max_length=300, required=False)

    def clean_slot(self):
        start = decode_slot(self.cleaned_data["slot"])
        if start is None:
            raise forms.ValidationError(gettext("Please choose a time."))
        return start


def free_times(booking, day):
    """The practitioner's free starts on `day` (clinic date) for this booking's service and visit type."""
    free = slots_for(
        booking.service,
        booking.visit_type,
        booking.location,
        booking.practitioner,
        day=day,
        exclude_booking=booking.pk,
    )
    return sorted(start for start, pids in free.items() if booking.practitioner_id in pids and start != booking.start)


def reschedule_page(model_admin, request, object_id):
    """Move a booking to another free time of the same practitioner."""
    booking = _booking_for_change(model_admin, request, object_id)
    if not booking.is_active:
        messages.error(request, gettext("Only requested or confirmed bookings can be moved."))
        return redirect(change_url(booking))
    today = timezone.localdate(timezone=clinic_tz())
    day = parse_date(request.POST.get("date") or request.GET.get("date"))
    if day is None:
        day = max(timezone.localtime(booking.start, clinic_tz()).date(), today)
    form = MoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        new_start = form.cleaned_data["slot"]
        try:
            booking = reschedule(booking, new_start, by=request.user, note=form.cleaned_data["note"])
        except SlotTaken:
            form.add_error(
                "slot", gettext("That time is no longer free (someone else has it). Please choose another time.")
            )
        except NotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            model_admin.log_change(
                request, booking, gettext("Moved to %(when)s") % {"when": local_label(new_start, "Y-m-d H:i")}
            )
            messages.success(
                request,
                gettext("%(ref)s moved to %(when)s; the patient is emailed the new time.")
                % {"ref": booking.reference, "when": local_label(new_start)},
            )
            return redirect(change_url(booking))
    starts = free_times(booking, day)
    return _page(
        model_admin,
        request,
        "reschedule.html",
        booking,
        gettext("Move %(ref)s") % {"ref": booking},
        form=form,
        day=day,
        day_label=date_format(day, "l j F Y"),
        previous_day=(day - timedelta(days=1)).isoformat() if day > today else "",
        next_day=(day + timedelta(days=1)).isoformat(),
        slots=[
            {"value": encode_slot(start), "label": timezone.localtime(start, clinic_tz()).strftime("%H:%M")}
            for start in starts
        ],
    )


# --- List actions -------------------------------------------------------------------------------


def bulk_transition(model_admin, request, queryset, to_status, *, note=""):
    """Apply one change to many bookings; report what was done, and what was skipped and why."""
    done, skipped, needs_link = [], {}, []
    for booking in queryset.select_related("practitioner").order_by("start", "pk"):
        if to_status == BookingStatus.CONFIRMED and booking.can_become(to_status) and needs_video_link(booking):
            needs_link.append(booking)
            continue
        try:
            _apply(model_admin, request, booking, to_status, note=note)
        except NotAllowed as exc:
            skipped.setdefault(str(exc), []).append(booking.reference)
        else:
            done.append(booking.reference)
    if done:
        messages.success(request, done_message(to_status, done))
    for reason, refs in skipped.items():
        messages.warning(
            request,
            ngettext("Skipped %(refs)s: %(reason)s", "Skipped %(refs)s: %(reason)s", len(refs))
            % {"refs": ", ".join(refs), "reason": reason},
        )
    if needs_link:
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:booking_booking_confirm", args=[b.pk]), b) for b in needs_link),
        )
        messages.warning(
            request,
            format_html(
                "{} {}",
                gettext("Not confirmed: these telehealth bookings need a video link first. Add it here:"),
                links,
            ),
        )
    if not (done or skipped or needs_link):
        messages.info(request, gettext("No bookings were selected."))


def bulk_decline(model_admin, request, queryset):
    """List action: ask once for the reason (an intermediate page), then decline each request."""
    form = DeclineForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        bulk_transition(model_admin, request, queryset, BookingStatus.DECLINED, note=form.cleaned_data["reason"])
        return None
    bookings = list(queryset.select_related("service", "practitioner").order_by("start"))
    for booking in bookings:
        booking.when = local_label(booking.start)
    return _page(
        model_admin,
        request,
        "decline.html",
        None,
        gettext("Decline requests"),
        form=form,
        bookings=bookings,
        bulk=True,
        action_checkbox_name="_selected_action",
    )


# --- Export -------------------------------------------------------------------------------------


def export_filtered(model_admin, request):
    """The changelist's current filters, search and ordering, as CSV."""
    if not (model_admin.has_view_permission(request) and model_admin.has_export_permission(request)):
        raise PermissionDenied
    try:
        changelist = model_admin.get_changelist_instance(request)
    except IncorrectLookupParameters:
        messages.error(request, gettext("These filters are not valid; nothing was exported."))
        return HttpResponseRedirect(reverse("admin:booking_booking_changelist"))
    return exports.bookings_csv_response(changelist.get_queryset(request))


# --- Schedule -----------------------------------------------------------------------------------


def _schedule_bookings(start, end):
    bookings = list(
        Booking.objects.filter(start__gte=start, start__lt=end)
        .exclude(status__in=HIDDEN_IN_SCHEDULE)
        .select_related("service", "location")
        .order_by("start", "pk")
    )
    for booking in bookings:
        booking.local_start = timezone.localtime(booking.start, clinic_tz())
        booking.local_end = timezone.localtime(booking.end, clinic_tz())
        booking.admin_url = change_url(booking)
    return bookings


def _schedule_practitioners(bookings):
    ids = {b.practitioner_id for b in bookings}
    return list(Practitioner.objects.filter(Q(is_active=True) | Q(pk__in=ids)).order_by("order", "name"))


def _schedule_context(model_admin, request, title, **extra):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "media": model_admin.media,
        "day_url": reverse("admin:booking_booking_schedule_day"),
        "week_url": reverse("admin:booking_booking_schedule_week"),
        "changelist_url": reverse("admin:booking_booking_changelist"),
        **extra,
    }


def _requested_day(request):
    return parse_date(request.GET.get("date")) or timezone.localdate(timezone=clinic_tz())


def schedule_day(model_admin, request):
    """One day: a column per practitioner, a row per hour, each booking a link to its page."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    day = _requested_day(request)
    bookings = _schedule_bookings(local_midnight(day), local_midnight(day + timedelta(days=1)))
    practitioners = _schedule_practitioners(bookings)
    first = min([8, *(b.local_start.hour for b in bookings)])
    last = max([18, *((b.local_end.hour + (1 if b.local_end.minute else 0)) for b in bookings)])
    if any(b.local_end.date() != day for b in bookings):
        last = 24
    column = {p.pk: i for i, p in enumerate(practitioners)}
    rows = []
    for hour in range(first, last):
        cells = [[] for _p in practitioners]
        for booking in bookings:
            if booking.local_start.hour == hour:
                cells[column[booking.practitioner_id]].append(booking)
        rows.append({"label": f"{hour:02d}:00", "cells": cells})
    context = _schedule_context(
        model_admin,
        request,
        gettext("Schedule for %(day)s") % {"day": date_format(day, "l j F Y")},
        day=day,
        practitioners=practitioners,
        rows=rows,
        total=len(bookings),
        previous=(day - timedelta(days=1)).isoformat(),
        next=(day + timedelta(days=1)).isoformat(),
        today=timezone.localdate(timezone=clinic_tz()).isoformat(),
    )
    return TemplateResponse(request, "admin/booking/booking/schedule_day.html", context)


def schedule_week(model_admin, request):
    """Monday to Sunday: a row per practitioner, a column per day."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    day = _requested_day(request)
    monday = day - timedelta(days=day.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    bookings = _schedule_bookings(local_midnight(monday), local_midnight(monday + timedelta(days=7)))
    practitioners = _schedule_practitioners(bookings)
    index = {d: i for i, d in enumerate(days)}
    rows = []
    for practitioner in practitioners:
        cells = [[] for _d in days]
        for booking in bookings:
            if booking.practitioner_id == practitioner.pk:
                cells[index[booking.local_start.date()]].append(booking)
        rows.append({"practitioner": practitioner, "cells": cells})
    today = timezone.localdate(timezone=clinic_tz())
    context = _schedule_context(
        model_admin,
        request,
        gettext("Week of %(day)s") % {"day": date_format(monday, "j F Y")},
        days=[{"date": d, "iso": d.isoformat(), "is_today": d == today} for d in days],
        rows=rows,
        total=len(bookings),
        previous=(monday - timedelta(days=7)).isoformat(),
        next=(monday + timedelta(days=7)).isoformat(),
        today=today.isoformat(),
    )
    return TemplateResponse(request, "admin/booking/booking/schedule_week.html", context)


# --- Admin index ---------------------------------------------------------------------------------


def front_desk_counts(now=None):
    """Today's and tomorrow's bookings and the requests waiting for review: one aggregate query."""
    now = now or timezone.now()
    today = timezone.localdate(now, timezone=clinic_tz())
    edges = [local_midnight(today + timedelta(days=i)) for i in range(3)]
    shown = ~Q(status__in=HIDDEN_IN_SCHEDULE)
    return Booking.objects.aggregate(
        today=Count("pk", filter=shown & Q(start__gte=edges[0], start__lt=edges[1])),
        tomorrow=Count("pk", filter=shown & Q(start__gte=edges[1], start__lt=edges[2])),
        waiting=Count("pk", filter=Q(status=BookingStatus.REQUESTED, start__gte=now)),
    )


def install_index_counts(site):
    """Give the admin index the front desk's counts (only for staff who may see bookings)."""
    if getattr(site, "_front_desk_counts_installed", False):
        return
    original_index = site.index

    def index(request, extra_context=None):
        extra_context = dict(extra_context or {})
        if request.user.has_perm("booking.view_booking"):
            tomorrow = timezone.localdate(timezone=clinic_tz()) + timedelta(days=1)
            extra_context["front_desk"] = {
                **front_desk_counts(),
                "day_url": reverse("admin:booking_booking_schedule_day", current_app=site.name),
                "tomorrow_url": reverse("admin:booking_booking_schedule_day", current_app=site.name)
                + f"?date={tomorrow.isoformat()}",
                "week_url": reverse("admin:booking_booking_schedule_week", current_app=site.name),
                "waiting_url": reverse("admin:booking_booking_changelist", current_app=site.name)
                + "?status__exact=requested&when=upcoming",
            }
        return original_index(request, extra_context=extra_context)

    site.index = index
    site._front_desk_counts_installed = True
