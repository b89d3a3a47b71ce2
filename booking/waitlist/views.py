"""The patient's waitlist pages: join, leave (a signed link), and an offer (claim or decline). Opening a link
changes nothing; every change is a POST with the form's CSRF token."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from clinic.client_address import client_address

from .. import workflow
from ..views import _initial_from_query, _invalid_link
from . import offers
from .forms import JoinForm
from .models import EntryStatus, WaitlistEntry
from .tokens import read_leave_token

DONE_COOKIE = "waitlist_joined"


@never_cache
@sensitive_post_parameters("name", "email", "phone")
@require_http_methods(["GET", "POST"])
def join_view(request):
    if request.method == "GET":
        initial = _initial_from_query(request.GET)
        location = str(request.GET.get("location", ""))
        if location.isdigit():
            initial["location"] = int(location)
        return _render(request, JoinForm(initial=initial))

    form = JoinForm(request.POST)
    if form.is_bot():
        over_rate_limit(request)
        form.add_error(None, _("Sorry, we couldn't accept this. Please try again or call us."))
    elif form.is_valid():
        if over_rate_limit(request):
            form.add_error(None, _("We've received several requests from your connection. Please call us."))
        else:
            offers.join(form.entry_fields(), request_key=form.cleaned_data.get("request_key") or None)
            # The same answer whether or not the address was already waiting (or at its limit).
            return redirect("waitlist:joined")
    return _render(request, form, status=200)


def over_rate_limit(request):
    """Count one sign-up against its client's hourly limit (WAITLIST_RATE_LIMIT), as the booking form does."""
    return is_ratelimited(
        request,
        group="waitlist-join",
        key=lambda _group, req: client_address(req),
        rate=lambda _group, _req: (settings.WAITLIST_RATE_LIMIT, 60 * 60),
        increment=True,
    )


def _render(request, form, status=200):
    form.describe_fits()
    context = {"form": form, "hold_minutes": settings.WAITLIST_HOLD_MINUTES}
    return render(request, "waitlist/join.html", context, status=status)


@never_cache
@require_GET
def joined_view(request):
    return render(request, "waitlist/joined.html")


def _entry_from_token(token):
    pk = read_leave_token(token)
    if pk is None:
        return None
    # An anonymised entry's link opens nothing: the signature stays valid, the entry no longer answers to it.
    entries = WaitlistEntry.objects.filter(pk=pk, anonymised_at__isnull=True)
    return entries.select_related("service", "practitioner").first()


@never_cache
@require_http_methods(["GET", "POST"])
def leave_view(request, token):
    entry = _entry_from_token(token)
    if entry is None:
        return _invalid_link(request)
    if request.method == "POST":
        if offers.leave(entry):
            messages.success(request, _("You have left the waitlist. We won't offer you times for this any more."))
        return redirect("waitlist:leave", token=token)
    entry.refresh_from_db()
    return render(request, "waitlist/leave.html", {"entry": entry, "token": token, "waiting": _waiting(entry)})


def _waiting(entry):
    return entry.status == EntryStatus.WAITING and entry.until >= timezone.localdate()


OUTCOME_MESSAGES = {
    offers.Outcome.EXPIRED: lambda: _(
        "Sorry, this offer has ended: the time was held for you for a limited time and has now been offered to "
        "the next person. You are still on the waitlist, and we'll email you when another time comes free."
    ),
    offers.Outcome.TAKEN: lambda: _(
        "Sorry, someone booked this time a moment before you. You are still on the waitlist, and we'll email "
        "you when another time comes free."
    ),
    offers.Outcome.CLOSED: lambda: _(
        "This offer is no longer open. If you are still on the waitlist, we'll email you."
    ),
    offers.Outcome.TOO_MANY: lambda: _(
        "You already have several upcoming appointments with us, so we can't book this one online. "
        "Please call us and we'll help."
    ),
}


@never_cache
@require_http_methods(["GET", "POST"])
def offer_view(request, token):
    offer = offers.offer_for_token(token)
    if offer is None:
        return _invalid_link(request)
    problem = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "decline":
            offers.decline(offer)
            messages.info(
                request, _("Thank you — we've offered this time to the next person. You stay on the waitlist.")
            )
            return redirect("waitlist:offer", token=token)
        try:
            result = offers.claim(offer)
        except workflow.SlotTaken:
            result = offers.ClaimResult(offers.Outcome.TAKEN, offer)
        if result.booking is not None:
            if result.outcome == offers.Outcome.BOOKED:
                messages.success(request, _("This time is yours. We've sent you an email with the details."))
            return redirect(reverse("booking:manage", kwargs={"token": result.booking.manage_token()}))
        problem = OUTCOME_MESSAGES[result.outcome]()
        offer.refresh_from_db()
    context = {
        "offer": offer,
        "token": token,
        "held": offer.is_held(),
        "problem": problem,
        "when": offers.when_text(offer.start),
    }
    return render(request, "waitlist/offer.html", context)
