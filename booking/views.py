"""Patient-facing booking pages: request, confirmation, and the patient's own booking page."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from clinic.facts import get_facts
from clinic.models import Practitioner

from . import formcache, ratelimit, workflow
from .availability import group_by_local_date, slots_for
from .forms import BookingForm, ChoicesForm, MoveForm, encode_slot
from .models import Booking, Service, VisitType
from .picker import build_picker, pick_date
from .tokens import read_token


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
        p = Practitioner.objects.active().filter(slug=practitioner).first()
        if p:
            initial["practitioner"] = p.pk
    return initial


def _choices(form_data):
    """Validate only the what/where part of the submitted data, to decide which times to show."""
    choices = ChoicesForm(form_data)
    choices.is_valid()
    return choices


@never_cache
@sensitive_post_parameters("name", "email", "phone", "reason")
@require_http_methods(["GET", "POST"])
def request_view(request):
    if request.method == "GET":
        key = formcache.cache_key(request)
        cached = formcache.cached_response(request, key) if key else None
        if cached is not None:
            return cached
        initial = _initial_from_query(request.GET)
        form = BookingForm(initial=initial)
        data = {**initial, "visit_type": initial.get("visit_type", VisitType.IN_CLINIC)}
        picker = build_picker(_choices(data), selected_date=None)
        response = render(request, "booking/request.html", {"form": form, "picker": picker})
        if key:
            formcache.store(key, response, form)
        return response

    if request.POST.get("action") == "refresh":
        # "Show available times" without JavaScript: re-render with what was typed, but no errors yet.
        form = BookingForm(initial={k: v for k, v in request.POST.items() if k not in ("website", "action")})
        picker = build_picker(_choices(request.POST), selected_date=request.POST.get("date"))
        return render(request, "booking/request.html", {"form": form, "picker": picker})

    form = BookingForm(request.POST)
    key = request.POST.get("request_key", "")
    existing = _existing_request(key)
    if existing:
        # A double click or the back button resubmitted a request that was already saved.
        return redirect("booking:manage", token=existing.manage_token())

    if form.is_bot():
        ratelimit.hit(request)
        form.add_error(None, _("Sorry, we couldn't accept this request. Please try again or call us."))
    elif ratelimit.is_limited(request):
        form.add_error(None, _("We've received several requests from your connection. Please call us to book more."))
    elif form.is_valid():
        booking = _save(request, form)
        if booking:
            request.session["booking_thanks"] = booking.reference
            return redirect("booking:manage", token=booking.manage_token())
    picker = build_picker(_choices(request.POST), selected_date=request.POST.get("date"), slot=form.data.get("slot"))
    return render(request, "booking/request.html", {"form": form, "picker": picker}, status=200)


def _existing_request(key):
    if not key or not key.isalnum() or len(key) > 64:
        return None
    return Booking.objects.filter(request_key=key).first()


@sensitive_variables("data", "patient")
def _save(request, form):
    data = form.cleaned_data
    open_count = Booking.objects.active().upcoming().filter(email__iexact=data["email"]).count()
    if open_count >= settings.BOOKING_MAX_OPEN_PER_EMAIL:
        form.add_error(
            "email",
            _("You already have %(n)d open requests with us. Please call us to book more.") % {"n": open_count},
        )
        return None
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
    try:
        booking = workflow.request_booking(
            service=data["service"],
            visit_type=data["visit_type"],
            location=data.get("location"),
            practitioner=data.get("practitioner"),
            start=data["slot"],
            patient=patient,
            request_key=data.get("request_key") or None,
        )
    except workflow.SlotTaken:
        existing = _existing_request(data.get("request_key"))
        if existing:
            return existing
        form.add_error("slot", slot_taken_message())
        return None
    ratelimit.hit(request)
    return booking


@never_cache
@require_GET
def times_view(request):
    """The date and time picker as an HTML fragment, for the booking page's script.

    The fragment depends only on the query and on availability, so it is reused from the shared
    cache for a minute (the key carries the availability version, which every booking change replaces).
    """
    key = formcache.fragment_key(request)
    html = formcache.get_fragment(key) if key else None
    if html is None:
        picker = build_picker(
            _choices(request.GET), selected_date=request.GET.get("date"), slot=request.GET.get("slot")
        )
        html = render_to_string("booking/includes/picker.html", {"picker": picker}, request=request)
        if key:
            formcache.set_fragment(key, html)
    return HttpResponse(html)


def _booking_from_token(token):
    reference = read_token(token)
    if not reference:
        return None
    return Booking.objects.select_related("service", "practitioner", "location").filter(reference=reference).first()


def _invalid_link(request):
    return render(request, "booking/link_invalid.html", status=404)


def _changeable_booking(request, token):
    """(booking, None) while the patient may still change it online; else (None, the page to show)."""
    booking = _booking_from_token(token)
    if booking is None or booking.anonymised_at:
        return None, _invalid_link(request)
    if not booking.patient_can_change():
        return None, redirect("booking:manage", token=token)
    return booking, None


@never_cache
@require_GET
def manage_view(request, token):
    booking = _booking_from_token(token)
    if booking is None or booking.anonymised_at:
        return _invalid_link(request)
    thanks = request.session.pop("booking_thanks", None) == booking.reference
    return render(
        request,
        "booking/manage.html",
        {
            "booking": booking,
            "token": token,
            "thanks": thanks,
            "past": booking.start <= timezone.now(),
            "can_change": booking.patient_can_change(),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def cancel_view(request, token):
    booking, refusal = _changeable_booking(request, token)
    if refusal:
        return refusal
    if request.method == "POST":
        try:
            workflow.change_status(booking, "cancelled", by=workflow.PATIENT, note=_("Cancelled by the patient online"))
        except workflow.NotAllowed as exc:
            messages.info(request, str(exc))
        else:
            messages.success(request, _("Your appointment is cancelled. We've sent you an email to confirm."))
        return redirect("booking:manage", token=token)
    return render(request, "booking/cancel.html", {"booking": booking, "token": token})


@never_cache
@require_http_methods(["GET", "POST"])
def move_view(request, token):
    booking, refusal = _changeable_booking(request, token)
    if refusal:
        return refusal
    form = MoveForm(request.POST or None)
    selected = request.POST.get("date") or request.GET.get("date")
    if request.method == "POST" and request.POST.get("action") != "refresh" and form.is_valid():
        try:
            workflow.reschedule(booking, form.cleaned_data["slot"], by=workflow.PATIENT)
        except workflow.SlotTaken:
            form.add_error("slot", slot_taken_message())
        except workflow.NotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your appointment has been moved."))
            return redirect("booking:manage", token=token)
    free = slots_for(
        booking.service, booking.visit_type, booking.location, booking.practitioner, exclude_booking=booking.pk
    )
    free.pop(booking.start, None)
    tz = timezone.get_default_timezone()
    by_date = group_by_local_date(free.keys(), tz)
    day = pick_date(by_date, selected)
    return render(
        request,
        "booking/move.html",
        {
            "booking": booking,
            "token": token,
            "form": form,
            "dates": list(by_date.keys()),
            "selected_date": day,
            "times": [(encode_slot(t), t) for t in by_date.get(day, [])],
            "chosen_slot": request.POST.get("slot", ""),
        },
    )
