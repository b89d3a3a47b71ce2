"""Patient-facing booking pages: request, confirmation, and the patient's own booking page."""

import time
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods
from django.views.generic import TemplateView
from django_ratelimit.core import is_ratelimited

from clinic import datetimes
from clinic.cache_headers import public_page
from clinic.client_address import client_address
from clinic.facts import get_facts
from clinic.models import OpeningHours, Practitioner

from . import workflow
from .courses import online as online_course
from .forms import BookingForm, ChoicesForm, MoveForm
from .models import Booking, Closure, Service, VisitType
from .notifications import reminders
from .notifications.ics import booking_ics
from .scheduling.picker import build_picker, move_picker
from .tokens import read_token
from .visits import family as visits_family
from .visits import session as visits_session

THANKS_COOKIE = "booking_thanks"


def over_rate_limit(request):
    """Count one booking request against its client's hourly limit (BOOKING_RATE_LIMIT); True when over it.

    django-ratelimit increments first and compares after, with the shared cache's atomic INCR, so concurrent
    requests on any instance each get their own number. Keyed on the trusted client address (hashed into the
    cache key); when the cache is down it fails open (RATELIMIT_FAIL_OPEN): patients can still book.
    """
    return is_ratelimited(
        request,
        group="booking-request",
        key=lambda _group, req: client_address(req),
        rate=lambda _group, _req: (settings.BOOKING_RATE_LIMIT, 60 * 60),
        increment=True,
    )


def slot_taken_message():
    return _("That time was just taken — please choose another.")


def _initial_from_query(params):
    """Prefill from links such as /book/?service=<slug>, ?treatment=<slug>, ?visit=telehealth."""
    initial = {}
    services = Service.objects.active()
    slug = str(params.get("service", ""))[:60]
    treatment = str(params.get("treatment", ""))[:60]
    service = None
    if slug:
        service = services.filter(slug=slug).first()
    elif treatment:
        service = services.filter(treatment__slug=treatment).first()
    if params.get("visit") == VisitType.TELEHEALTH:
        initial["visit_type"] = VisitType.TELEHEALTH
        if service is None or not service.telehealth:
            # The same treatment by video if there is one; from the banner (no service), the general
            # telehealth consultation (a service with no treatment); else any video service.
            treatment = service.treatment if service else None
            service = (
                services.filter(telehealth=True, treatment=treatment).first()
                or services.filter(telehealth=True).first()
            )
    if service:
        initial["service"] = service.pk
    practitioner = str(params.get("practitioner", ""))[:60]
    if practitioner:
        p = Practitioner.objects.bookable().filter(slug=practitioner).first()
        if p:
            initial["practitioner"] = p.pk
    return initial


def _choices(form_data):
    """Validate only the what/where part of the submitted data, to decide which times to show."""
    choices = ChoicesForm(form_data)
    choices.is_valid()
    return choices


def _render_form(request, form, picker, status=200):
    form.describe_fits()
    context = {"form": form, "picker": picker, "cancel_notice_hours": settings.BOOKING_CANCEL_NOTICE_HOURS}
    return render(request, "booking/request.html", context, status=status)


def _signed_in_form_kwargs(request, touch=True):
    """For a patient signed in at /visits/: the address and the patient records the sign-in covers, so the form
    asks whom the visit is for among those records only (the session's set, never ids from the form)."""
    email_key = visits_session.signed_in_key(request, touch=touch)
    if not email_key:
        return {}
    family = visits_family.chosen_patients(email_key, visits_session.covered_patients(request))
    return {"signed_in_key": email_key, "family": family}


@never_cache
@sensitive_post_parameters("name", "email", "phone", "reason")
@require_http_methods(["GET", "POST"])
def request_view(request):
    if request.method == "GET":
        initial = _initial_from_query(request.GET)
        signed_in = _signed_in_form_kwargs(request)
        if signed_in:
            # "Book again" or "someone else in my family": this page is personal (never_cache keeps it private).
            book_for = request.session.get(visits_session.BOOK_FOR)
            initial.update(visits_family.form_prefill(book_for, signed_in["signed_in_key"]))
        form = BookingForm(initial=initial, **signed_in)
        data = {**initial, "visit_type": initial.get("visit_type", VisitType.IN_CLINIC)}
        picker = build_picker(_choices(data))
        if not initial.get("service"):
            picker.problems = []  # nothing chosen yet is not a mistake
        return _render_form(request, form, picker)

    if request.POST.get("action") == "refresh" or "from" in request.POST:
        # "Show available times" or "Later dates" without JavaScript: re-render with what was typed; what does
        # not fit is said in words where the times would be (the button's target, #times).
        initial = {k: v for k, v in request.POST.items() if k not in ("website", "action", "from")}
        form = BookingForm(initial=initial, **_signed_in_form_kwargs(request))
        picker = build_picker(_choices(request.POST), first=request.POST.get("from"), slot=request.POST.get("slot"))
        return _render_form(request, form, picker)

    # Not touched here: nothing after a booking's commit may write the session (a saved booking is never a failure).
    form = BookingForm(request.POST, **_signed_in_form_kwargs(request, touch=False))
    key = request.POST.get("request_key", "")
    existing = _existing_request(key)
    if existing:
        # A double click or the back button resubmitted a request that was already saved.
        return redirect("booking:manage", token=existing.manage_token())

    course_plan = None
    if form.is_bot():
        over_rate_limit(request)  # a bot's attempt counts too
        form.add_error(None, _("Sorry, we couldn't accept this request. Please try again or call us."))
    elif form.is_valid() and form.wants_course() and (course_plan := online_course.plan_for(form)) is None:
        form.add_error("slot", slot_taken_message())
    elif course_plan is not None and request.POST.get("action") != online_course.BOOK_COURSE:
        # A course: first the dates to take or skip; nothing is saved yet.
        return online_course.review_page(request, form, course_plan)
    elif form.is_valid():
        # Counted before the save (increment, then compare): concurrent requests cannot all pass.
        if over_rate_limit(request):
            form.add_error(
                None, _("We've received several requests from your connection. Please call us to book more.")
            )
        elif not (claimed := _claim_or_await(form, key)) and (existing := _existing_request(key)):
            return redirect("booking:manage", token=existing.manage_token())  # a double tap that raced
        elif not claimed:
            # A script replaying a page, or a second request from an old tab: a fresh page gives a fresh token.
            form.add_error(
                None, _("This form has already been sent. To make another request, open the booking page again.")
            )
        else:
            booking = online_course.save(request, form, course_plan) if course_plan else _save(request, form)
            if isinstance(booking, HttpResponse):
                form.release_started_token()  # the dates again (one was just taken): the form may be sent again
                return booking
            if booking:
                # Nothing after the commit can fail this answer: no session (database) write, no email;
                # the thank-you flag rides in a short-lived signed cookie.
                url = reverse("booking:manage", kwargs={"token": booking.manage_token()})
                response = redirect(url)
                response.set_signed_cookie(
                    THANKS_COOKIE,
                    booking.reference,
                    salt=THANKS_COOKIE,
                    max_age=600,
                    path=url,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
                return response
            form.release_started_token()  # not saved (time taken, the cap): the patient may send it again
    picker = build_picker(_choices(request.POST), slot=form.data.get("slot"))
    return _render_form(request, form, picker)


def _claim_or_await(form, key):
    """Claim the form's signed start time (one booking per page); True when this request may save.

    When another request holds it (a double tap, possibly on another instance), that request may still be
    saving: wait for its commit instead of answering at once, so both answers lead to the saved booking.
    False once the booking with this form's key exists (or the wait is over); True if the other request gave
    the form back (its time was taken, the cap): this one then tries, and gets the same clear answer.
    """
    if form.claim_started_token():
        return True
    deadline = time.monotonic() + settings.BOOKING_DOUBLE_SUBMIT_WAIT_SECONDS
    while time.monotonic() < deadline:
        if _existing_request(key):
            return False
        if form.claim_started_token():
            return True
        time.sleep(0.05)
    return False


def _existing_request(key):
    if not key or not key.isalnum() or len(key) > 64:
        return None
    return Booking.objects.filter(request_key=key).first()


@sensitive_variables("data", "patient")
def _save(request, form):
    data = form.cleaned_data
    profile = get_facts().profile
    patient = workflow.PatientDetails(
        name=data["name"],
        email=data["email"],
        phone=data["phone"],
        phone_as_typed=data.get("phone_as_typed", ""),
        contact_preference=data["contact_preference"],
        patient_type=data["patient_type"],
        reason=data.get("reason", ""),
        privacy_version=profile.privacy_version if profile else "",
    )
    signed_in = None
    if form.signed_in_key:
        signed_in = workflow.SignedIn(email_key=form.signed_in_key, patient_id=form.chosen_patient_id())
    try:
        booking = workflow.request_booking(
            service=data["service"],
            visit_type=data["visit_type"],
            location=data.get("location"),
            practitioner=data.get("practitioner"),
            start=data["slot"],
            patient=patient,
            request_key=data.get("request_key") or None,
            signed_in=signed_in,
        )
    except workflow.NotInFamily:
        # The record was merged, anonymised or moved to another address since the page was shown.
        form.add_error("for_patient", _("Please choose who this visit is for from the list."))
        return None
    except workflow.TooManyOpen:
        # No count in the message: it would tell a stranger how many bookings an address has.
        form.add_error("email", _("This email address already has open requests with us. Please call us to book."))
        return None
    except workflow.SlotTaken as exc:
        existing = _existing_request(data.get("request_key"))
        if existing:
            return existing
        form.add_error("slot", exc.reason or slot_taken_message())
        return None
    return booking


@never_cache
@require_GET
def times_view(request):
    """The date and time picker as an HTML fragment, for the booking page's script."""
    picker = build_picker(_choices(request.GET), first=request.GET.get("from"), slot=request.GET.get("slot"))
    return HttpResponse(render_to_string("booking/includes/picker.html", {"picker": picker}, request=request))


def _booking_from_token(token):
    reference = read_token(token)
    if not reference:
        return None
    return Booking.objects.select_related("service", "practitioner", "location").filter(reference=reference).first()


def _invalid_link(request):
    return render(request, "booking/link_invalid.html", status=404)


def _linked_booking(request, token):
    """(booking, None) for a patient's link that still works; else (None, the page to show instead: an unknown
    or anonymised booking, or a link past its days)."""
    booking = _booking_from_token(token)
    if booking is None or booking.anonymised_at:
        return None, _invalid_link(request)
    if booking.link_expired():
        context = {"days": settings.BOOKING_LINK_DAYS_AFTER}
        return None, render(request, "booking/link_expired.html", context, status=410)
    return booking, None


def with_linked_booking(changeable=False):
    """Gives the view the booking the patient's link names, or shows the page that refuses the link. With
    `changeable`, a booking the patient may no longer change online sends them back to its page."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, token):
            booking, refusal = _linked_booking(request, token)
            if refusal:
                return refusal
            if changeable and not booking.patient_can_change():
                return redirect("booking:manage", token=token)
            return view(request, token, booking)

        return wrapped

    return decorator


@never_cache
@require_GET
@with_linked_booking()
def manage_view(request, token, booking):
    thanks = request.get_signed_cookie(THANKS_COOKIE, default=None, salt=THANKS_COOKIE) == booking.reference
    response = render(
        request,
        "booking/manage.html",
        {
            "booking": booking,
            "token": token,
            "thanks": thanks,
            "past": booking.start <= timezone.now(),
            "can_change": booking.patient_can_change(),
            "reply_by": reply_by(booking.created),
            "reminder": reminders.pending_for(booking),
        },
    )
    if thanks:
        response.delete_cookie(THANKS_COOKIE, path=request.path)  # thanked once; a reload shows the plain page
    return response


def reply_by(requested_at):
    """The next day the clinic is open after a request arrives: the latest day staff reply by."""
    open_days = {h.weekday for h in OpeningHours.objects.all() if not h.is_closed} or {0, 1, 2, 3, 4}
    day = datetimes.local_date(requested_at)
    closed = set(
        Closure.objects.filter(date__gt=day, date__lte=day + timedelta(days=30)).values_list("date", flat=True)
    )
    for _step in range(30):
        day += timedelta(days=1)
        if day.weekday() in open_days and day not in closed:
            return day
    return day


@never_cache
@require_http_methods(["GET", "POST"])
@with_linked_booking(changeable=True)
def cancel_view(request, token, booking):
    urls = {
        "action_url": reverse("booking:cancel", args=[token]),
        "back_url": reverse("booking:manage", args=[token]),
    }
    return cancel_booking(request, booking, by=workflow.PATIENT, note=_("Cancelled by the patient online"), **urls)


def cancel_booking(request, booking, *, by, note, action_url, back_url):
    """The patient's cancel page and its POST: one code path for the emailed link and the signed-in visits page
    (the same late-cancellation rule, checked by the caller, and the same version check against repeats)."""
    if request.method == "POST":
        try:
            workflow.change_status(
                booking, "cancelled", by=by, note=note, version=workflow.posted_version(request.POST)
            )
        except (workflow.NotAllowed, workflow.Stale) as exc:
            messages.info(request, str(exc))
        else:
            messages.success(request, _("Your appointment is cancelled. We've sent you an email to confirm."))
        return redirect(back_url)
    context = {"booking": booking, "action_url": action_url, "back_url": back_url}
    return render(request, "booking/cancel.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@with_linked_booking(changeable=True)
def move_view(request, token, booking):
    urls = {
        "action_url": reverse("booking:move", args=[token]),
        "back_url": reverse("booking:manage", args=[token]),
    }
    return move_booking(request, booking, by=workflow.PATIENT, **urls)


def move_booking(request, booking, *, by, action_url, back_url):
    """The patient's move page and its POST, shared like cancel_booking."""
    moving = request.method == "POST" and "from" not in request.POST
    form = MoveForm(request.POST if moving else None)
    # The version travels with the page through "show more days": it is the state the patient saw.
    version = workflow.posted_version(request.POST) if request.method == "POST" else booking.version
    if moving and form.is_valid():
        try:
            workflow.reschedule(booking, form.cleaned_data["slot"], by=by, version=version)
        except workflow.SlotTaken as exc:
            form.add_error("slot", exc.reason or slot_taken_message())
        except (workflow.Stale, workflow.Unchanged) as exc:
            messages.info(request, str(exc))
            return redirect(back_url)
        except workflow.NotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your appointment has been moved."))
            return redirect(back_url)
    first = request.POST.get("from") or request.GET.get("from")
    picker = move_picker(booking, first=first, slot=request.POST.get("slot", ""))
    if request.GET.get("fragment"):
        return render(request, "booking/includes/picker.html", {"picker": picker})
    context = {
        "booking": booking,
        "form": form,
        "picker": picker,
        "version": version,
        "action_url": action_url,
        "back_url": back_url,
    }
    return render(request, "booking/move.html", context)


@never_cache
@require_GET
@with_linked_booking()
def calendar_view(request, token, booking):
    """The appointment as an .ics file, so the patient can add it to their calendar from their page."""
    if not booking.is_active:
        return _invalid_link(request)
    response = HttpResponse(booking_ics(booking), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{booking.reference}.ics"'
    return response


# --- The patient information pages that describe the booking rules: fees and the cancellation policy.
# Both read the late-cancellation window from BOOKING_CANCEL_NOTICE_HOURS, the setting
# `Booking.patient_can_change` enforces, so the policy a patient reads is the one the site applies.


class PolicyPageMixin:
    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["cancel_notice_hours"] = settings.BOOKING_CANCEL_NOTICE_HOURS
        return ctx


@method_decorator(public_page, name="dispatch")
class FeesView(PolicyPageMixin, TemplateView):
    template_name = "booking/patients/fees.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["services"] = Service.objects.active().order_by("order", "name")
        return ctx


@method_decorator(public_page, name="dispatch")
class CancellationPolicyView(PolicyPageMixin, TemplateView):
    template_name = "booking/patients/cancellation.html"
