"""/visits/: ask for a code, sign in with it, see the family's visits, cancel or move one, book again.

Every page here is personal: `private, no-store` (never_cache) and `noindex`. URLs carry no patient data: a
visit is named by its booking reference, and looked up only among the signed-in family's bookings (404 for
anyone else's). Cancel and move are the emailed link's own code paths (booking.views), as the patient.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from .. import views as booking_views
from .. import workflow
from ..notifications.mailboxes import normalise_email
from . import codes, family, session
from .forms import CodeForm, EmailForm
from .ratelimits import code_request_limited


def personal(view):
    """No cache may keep these pages (Cache-Control: private, no-store …), and no search engine index them."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return never_cache(wrapped)


def signed_in(view):
    """The view gets the signed-in address key; without a live sign-in, back to /visits/."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        email_key = session.signed_in_key(request)
        if email_key is None:
            return redirect("booking:visits")
        return view(request, email_key, *args, **kwargs)

    return wrapped


@personal
@sensitive_post_parameters("email")
@require_http_methods(["GET", "POST"])
def home_view(request):
    timed_out = session.was_signed_in(request)
    email_key = session.signed_in_key(request)
    if email_key:
        records = family.family(email_key)
        session.cover_patients(request, [record.patient.pk for record in records])
        context = {"records": records, "idle_minutes": settings.VISITS_IDLE_MINUTES}
        return render(request, "booking/visits/list.html", context)
    if timed_out:
        messages.info(request, _("You were signed out after a while without activity. Please sign in again."))
    form = EmailForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip()
        if code_request_limited(request, normalise_email(email)):
            form.add_error(
                None,
                _("You've asked for several codes in a short time. Please wait a few minutes, or call us."),
            )
            status = 429
        else:
            row, email_key = codes.issue(email)
            session.start_pending(request, row.pk, email_key)
            return redirect("booking:visits_code")
    return render(request, "booking/visits/sign_in.html", {"form": form}, status=status)


@personal
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def code_view(request):
    pending = session.pending(request)
    if pending is None:
        return redirect("booking:visits")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes.redeem(pending["code"], pending["key"], form.cleaned_data["code"])
        except codes.CodeRefused as exc:
            form.add_error("code", str(exc))
        else:
            session.sign_in(request, pending["key"], family.mark_signed_in(pending["key"]))
            return redirect("booking:visits")
    return render(request, "booking/visits/code.html", {"form": form, "code_minutes": settings.VISITS_CODE_MINUTES})


@personal
@require_POST
def sign_out_view(request):
    session.sign_out(request)
    messages.success(request, _("You're signed out."))
    return redirect("booking:visits")


def _family_visit(email_key, reference):
    booking = family.visit_of(email_key, reference)
    if booking is None:
        raise Http404
    return booking


def _changeable(view):
    """A visit of the signed-in family that may still be changed online; else back to the list, saying why."""

    @wraps(view)
    def wrapped(request, email_key, reference):
        booking = _family_visit(email_key, reference)
        if not booking.patient_can_change():
            messages.info(request, _("This visit can no longer be changed online. Please call us."))
            return redirect("booking:visits")
        return view(request, email_key, booking)

    return wrapped


@personal
@require_http_methods(["GET", "POST"])
@signed_in
@_changeable
def cancel_view(request, email_key, booking):
    return booking_views.cancel_booking(
        request,
        booking,
        by=workflow.PATIENT_SIGNED_IN,
        note=_("Cancelled by the patient, signed in at /visits/"),
        action_url=reverse("booking:visits_cancel", args=[booking.reference]),
        back_url=reverse("booking:visits"),
    )


@personal
@require_http_methods(["GET", "POST"])
@signed_in
@_changeable
def move_view(request, email_key, booking):
    return booking_views.move_booking(
        request,
        booking,
        by=workflow.PATIENT_SIGNED_IN,
        action_url=reverse("booking:visits_move", args=[booking.reference]),
        back_url=reverse("booking:visits"),
    )


@personal
@require_POST
@signed_in
def book_again_view(request, email_key, reference):
    """Open the booking form for this visit's patient, service and practitioner (kept in the session, not the URL)."""
    booking = _family_visit(email_key, reference)
    request.session[session.BOOK_FOR] = {"again": booking.reference}
    return redirect(reverse("booking:request") + "#slot-picker")


@personal
@require_POST
@signed_in
def book_new_person_view(request, email_key):
    """Open the booking form for someone else in the family: a new patient record under the same address."""
    request.session[session.BOOK_FOR] = {"new": True}
    return redirect("booking:request")


@personal
@require_POST
@signed_in
def book_for_view(request, email_key):
    """Open the booking form for one of the family's records (one without past visits to book again from).
    Only a record the sign-in covers: any other id posted is a 404, and nothing is kept."""
    posted = str(request.POST.get("patient", ""))
    patient_id = int(posted) if posted.isdigit() and len(posted) < 19 else None
    covered = [patient_id] if patient_id in session.covered_patients(request) else []
    if not family.chosen_patients(email_key, covered):
        raise Http404
    request.session[session.BOOK_FOR] = {"patient": patient_id}
    return redirect(reverse("booking:request") + "#slot-picker")
