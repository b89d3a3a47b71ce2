"""The front desk's actions on bookings: the buttons on a booking's page, the small pages some of them
need (video link, decline reason, a new time) and the list actions that change many bookings at once.

All state changes go through booking.workflow, which checks the rules, records a BookingEvent (who
acted, when, from, to, note) and queues the right email; this module only asks, calls and reports.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clinic.datetimes import clinic_tz, local_date, local_label

from ..forms import MoveForm
from ..models import BookingStatus
from ..scheduling.picker import move_picker
from ..workflow import (
    NotAllowed,
    SlotTaken,
    Stale,
    Unchanged,
    arrival_label,
    change_status,
    mark_arrived,
    may_arrive,
    posted_version,
    reschedule,
)
from .common import change_url
from .forms import DeclineForm, VideoLinkForm

# Actions offered as POST buttons that need no extra input.
DIRECT_ACTIONS = {
    "cancel": BookingStatus.CANCELLED,
    "complete": BookingStatus.COMPLETED,
    "no_show": BookingStatus.NO_SHOW,
    "confirm": BookingStatus.CONFIRMED,
}

FRONT_DESK_ACTIONS = [
    "confirm_selected",
    "decline_selected",
    "cancel_selected",
    "complete_selected",
    "no_show_selected",
]


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


def shown_version_field(pk):
    """The name of the hidden field carrying the version a list row showed."""
    return f"shown_version_{pk}"


def needs_video_link(booking):
    return booking.is_telehealth and not booking.video_link


def _button(label, url, method, kind=None):
    button = {"label": label, "url": url, "method": method}
    if kind:
        button["kind"] = kind
    return button


def available_actions(booking, now=None):
    """The buttons shown on a booking's page: only the changes the rules allow right now."""
    now = now or timezone.now()
    pk = booking.pk
    actions = []
    if may_arrive(booking, now):
        url = reverse("admin:booking_booking_transition", args=[pk, "arrive"])
        actions.append(_button(_("Mark arrived"), url, "post", "primary"))
    if booking.can_become(BookingStatus.CONFIRMED):
        if needs_video_link(booking):
            url = reverse("admin:booking_booking_confirm", args=[pk])
            actions.append(_button(_("Confirm (add video link)"), url, "get", "primary"))
        else:
            url = reverse("admin:booking_booking_transition", args=[pk, "confirm"])
            actions.append(_button(_("Confirm"), url, "post", "primary"))
    if booking.can_become(BookingStatus.DECLINED):
        actions.append(_button(_("Decline…"), reverse("admin:booking_booking_decline", args=[pk]), "get"))
    if booking.start <= now:
        for action, status, label in [
            ("complete", BookingStatus.COMPLETED, _("Mark completed")),
            ("no_show", BookingStatus.NO_SHOW, _("Mark no-show")),
        ]:
            if booking.can_become(status):
                url = reverse("admin:booking_booking_transition", args=[pk, action])
                actions.append(_button(label, url, "post"))
    if booking.is_active:
        actions.append(_button(_("Reschedule…"), reverse("admin:booking_booking_reschedule", args=[pk]), "get"))
    if booking.can_become(BookingStatus.CANCELLED):
        url = reverse("admin:booking_booking_transition", args=[pk, "cancel"])
        actions.append(_button(_("Cancel booking"), url, "post", "danger"))
    return actions


class FrontDeskActionsMixin:
    """BookingAdmin's buttons, action pages and list actions."""

    # Helpers ---------------------------------------------------------------------------------

    def apply_change(self, request, booking, to_status, *, version, note="", telehealth_url=None):
        """Run one state change made from `version` of the booking; log it in the admin history.

        Raises NotAllowed, or Stale when the booking changed since the page was shown (nothing changes).
        """
        from_status = booking.status
        booking = change_status(
            booking, to_status, by=request.user, note=note, telehealth_url=telehealth_url, version=version
        )
        self.log_change(request, booking, status_change_message(from_status, to_status))
        return booking

    def booking_for_change(self, request, object_id):
        if not self.has_change_permission(request):
            raise PermissionDenied
        booking = self.get_object(request, object_id)
        if booking is None:
            raise Http404(gettext("No booking with this id."))
        if not self.has_change_permission(request, booking):
            raise PermissionDenied
        return booking

    def not_changed(self, request, booking, reason):
        messages.error(request, gettext("%(ref)s was not changed: %(reason)s") % {"ref": booking, "reason": reason})

    def action_page(self, request, template, booking, title, **context):
        return TemplateResponse(
            request,
            f"admin/booking/booking/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": title,
                "original": booking,
                "booking": booking,
                "booking_when": local_label(booking.start, "l j F Y, H:i") if booking else "",
                "change_url": change_url(booking) if booking else "",
                # The version the page was made from travels with its form (and through its steps).
                "version": (posted_version(request.POST) if request.method == "POST" else booking.version)
                if booking
                else None,
                "media": self.media,
                **context,
            },
        )

    # Pages behind the buttons ------------------------------------------------------------------

    def transition_view(self, request, object_id, action):
        """POST from a button on the booking page: confirm, cancel, complete, no-show, arrived."""
        booking = self.booking_for_change(request, object_id)
        if request.method != "POST":
            return redirect(change_url(booking))
        if action == "arrive":
            return self.arrive(request, booking)
        if action == "decline":
            return redirect("admin:booking_booking_decline", booking.pk)
        to_status = DIRECT_ACTIONS.get(action)
        if to_status is None:
            raise Http404(gettext("Unknown action."))
        if to_status == BookingStatus.CONFIRMED and needs_video_link(booking):
            return redirect("admin:booking_booking_confirm", booking.pk)
        try:
            self.apply_change(
                request,
                booking,
                to_status,
                note=request.POST.get("note", "")[:500],
                version=posted_version(request.POST),
            )
        except (NotAllowed, Stale) as exc:
            self.not_changed(request, booking, exc)
        else:
            messages.success(request, done_message(to_status, [booking.reference]))
        return redirect(change_url(booking))

    def arrive(self, request, booking):
        """Mark the patient arrived (from the booking's page or its block on the calendar), then go back there."""
        try:
            booking = mark_arrived(booking, by=request.user, version=posted_version(request.POST))
        except (NotAllowed, Stale, Unchanged) as exc:
            self.not_changed(request, booking, exc)
        else:
            self.log_change(request, booking, gettext("Marked arrived"))
            messages.success(request, f"{booking.reference}: {arrival_label(booking)}")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
            back = change_url(booking)
        return redirect(back)

    def confirm_view(self, request, object_id):
        """Confirm a booking; for telehealth without a video room, ask for the video link first."""
        booking = self.booking_for_change(request, object_id)
        form = VideoLinkForm(request.POST or None, booking=booking)
        if request.method == "POST" and form.is_valid():
            try:
                url = form.cleaned_data["telehealth_url"] or None
                self.apply_change(
                    request, booking, BookingStatus.CONFIRMED, telehealth_url=url, version=posted_version(request.POST)
                )
            except Stale as exc:
                self.not_changed(request, booking, exc)
                return redirect(change_url(booking))
            except NotAllowed as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, done_message(BookingStatus.CONFIRMED, [booking.reference]))
                return redirect(change_url(booking))
        title = gettext("Confirm %(ref)s") % {"ref": booking}
        return self.action_page(request, "confirm.html", booking, title, form=form)

    def decline_view(self, request, object_id):
        """Decline one request with a reason that is emailed to the patient."""
        booking = self.booking_for_change(request, object_id)
        form = DeclineForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                self.apply_change(
                    request,
                    booking,
                    BookingStatus.DECLINED,
                    note=form.cleaned_data["reason"],
                    version=posted_version(request.POST),
                )
            except (NotAllowed, Stale) as exc:
                self.not_changed(request, booking, exc)
            else:
                messages.success(request, done_message(BookingStatus.DECLINED, [booking.reference]))
            return redirect(change_url(booking))
        title = gettext("Decline %(ref)s") % {"ref": booking}
        return self.action_page(request, "decline.html", booking, title, form=form, bookings=[booking])

    def reschedule_view(self, request, object_id):
        """Move a booking to another free time of the same practitioner: pick a time, see old and new, confirm.

        The same picker and move form as the patient's move page; nothing moves or is emailed until the
        front desk presses "Move and email the patient" on the review step.
        """
        booking = self.booking_for_change(request, object_id)
        if not booking.is_active:
            messages.error(request, gettext("Only requested or confirmed bookings can be moved."))
            return redirect(change_url(booking))
        action = request.POST.get("action", "")
        posted = request.method == "POST" and "from" not in request.POST
        form = MoveForm(request.POST if posted else None)
        if posted and form.is_valid():
            new_start = form.cleaned_data["slot"]
            if action != "move":
                title = gettext("Move %(ref)s?") % {"ref": booking}
                return self.action_page(
                    request, "reschedule_confirm.html", booking, title, form=form, new_start=new_start
                )
            try:
                booking = reschedule(
                    booking,
                    new_start,
                    by=request.user,
                    note=form.cleaned_data["note"],
                    version=posted_version(request.POST),
                )
            except (Stale, Unchanged) as exc:
                self.not_changed(request, booking, exc)
                return redirect(change_url(booking))
            except SlotTaken:
                form.add_error(
                    "slot", gettext("That time is no longer free (someone else has it). Please choose another time.")
                )
            except NotAllowed as exc:
                form.add_error(None, str(exc))
            else:
                self.log_change(
                    request, booking, gettext("Moved to %(when)s") % {"when": local_label(new_start, "Y-m-d H:i")}
                )
                messages.success(
                    request,
                    gettext("%(ref)s moved to %(when)s; the patient is emailed the new time.")
                    % {"ref": booking.reference, "when": local_label(new_start)},
                )
                return redirect(change_url(booking))
        today = timezone.localdate(timezone=clinic_tz())
        first = request.POST.get("from") or request.GET.get("from") or request.GET.get("date")
        if not first and not request.POST.get("slot"):
            first = max(local_date(booking.start), today)
        picker = move_picker(booking, first=first, slot=request.POST.get("slot", ""))
        if request.GET.get("fragment"):
            return TemplateResponse(request, "booking/includes/picker.html", {"picker": picker})
        title = gettext("Move %(ref)s") % {"ref": booking}
        return self.action_page(request, "reschedule.html", booking, title, form=form, picker=picker)

    # List actions ----------------------------------------------------------------------------

    def bulk_transition(self, request, queryset, to_status, *, note=""):
        """Apply one change to many bookings; report what was done, and what was skipped and why.

        Each row of the list carries the version it showed (see BookingAdmin.status_badge); a booking that
        changed since the list was shown is skipped with its current state. "Select all" across pages
        acts on rows never shown, so there the current state is checked by the rules alone.
        """
        done, skipped, needs_link = [], {}, []
        across = request.POST.get("select_across") == "1"
        for booking in queryset.select_related("practitioner").order_by("start", "pk"):
            if to_status == BookingStatus.CONFIRMED and booking.can_become(to_status) and needs_video_link(booking):
                needs_link.append(booking)
                continue
            version = None if across else posted_version(request.POST, shown_version_field(booking.pk))
            try:
                self.apply_change(request, booking, to_status, note=note, version=version)
            except Stale as exc:
                messages.warning(request, f"{booking.reference}: {exc}")
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

    @admin.action(description=_("Confirm selected bookings"), permissions=["change"])
    def confirm_selected(self, request, queryset):
        self.bulk_transition(request, queryset, BookingStatus.CONFIRMED)

    @admin.action(description=_("Decline selected requests (asks for a reason)"), permissions=["change"])
    def decline_selected(self, request, queryset):
        """Ask once for the reason (an intermediate page), then decline each request."""
        form = DeclineForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self.bulk_transition(request, queryset, BookingStatus.DECLINED, note=form.cleaned_data["reason"])
            return None
        bookings = list(queryset.select_related("service", "practitioner").order_by("start"))
        for booking in bookings:
            booking.when = local_label(booking.start)
            booking.shown_field = shown_version_field(booking.pk)
            booking.shown_version = request.POST.get(booking.shown_field, "")
        return self.action_page(
            request,
            "decline.html",
            None,
            gettext("Decline requests"),
            form=form,
            bookings=bookings,
            bulk=True,
            action_checkbox_name="_selected_action",
        )

    @admin.action(description=_("Cancel selected bookings"), permissions=["change"])
    def cancel_selected(self, request, queryset):
        self.bulk_transition(request, queryset, BookingStatus.CANCELLED)

    @admin.action(description=_("Mark selected bookings completed"), permissions=["change"])
    def complete_selected(self, request, queryset):
        self.bulk_transition(request, queryset, BookingStatus.COMPLETED)

    @admin.action(description=_("Mark selected bookings as no-show"), permissions=["change"])
    def no_show_selected(self, request, queryset):
        self.bulk_transition(request, queryset, BookingStatus.NO_SHOW)
