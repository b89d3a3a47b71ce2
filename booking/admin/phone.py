"""Bookings taken by phone: the admin's add page for a booking.

Prefilled from links (``?practitioner=<id>&start=<ISO 8601 with offset>`` from the day calendar,
``?patient=<id>`` from a patient's page). The front desk finds or types the patient, chooses service, visit
type, place, practitioner and a time (the patient's picker, from now instead of the minimum notice, plus the
time clicked), and saves through booking.workflow.book_by_phone: the same no-overlap and working-hours
rules as online, confirmed at once. The form carries a one-time key (Booking.request_key), so a double
click or a resent form saves once and then shows the booking it made.
"""

import uuid
from datetime import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinic import phones
from clinic.datetimes import local_label, today
from clinic.models import Practitioner

from ..forms import ChoicesForm, SlotField, encode_slot, has_hidden_characters, looks_like_a_link
from ..models import Booking, BulkAccess, ContactPreference, Patient, VisitType
from ..patients import search
from ..scheduling.availability import booking_window, slots_for
from ..scheduling.picker import Picker, page_of_days
from ..workflow import NotAllowed, SlotTaken, book_by_phone
from .audit import record_bulk_read
from .common import change_url

SEARCH_RESULTS = 10


class PhoneBookingForm(ChoicesForm):
    """A caller's booking: who (a patient record, or a new one), what, where, with whom, when."""

    patient = forms.ModelChoiceField(
        label=_("Patient"),
        queryset=Patient.objects.none(),
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("That patient record was not found. Search again or enter a new patient.")},
    )
    name = forms.CharField(label=_("Full name"), max_length=120, required=False)
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        required=False,
        help_text=_("Leave empty if the caller has none: no email is sent."),
        error_messages={"invalid": _("This isn't a valid email address. It should look like name@example.com.")},
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    contact_preference = forms.ChoiceField(
        label=_("Contact by"), choices=ContactPreference.choices, initial=ContactPreference.CALL, required=False
    )
    slot = SlotField()
    telehealth_url = forms.URLField(
        label=_("Video link"),
        required=False,
        assume_scheme="https",
        help_text=_("Needed for a video visit when the practitioner has no video room."),
    )
    note = forms.CharField(label=_("Staff note (optional)"), max_length=500, required=False)
    email_patient = forms.BooleanField(
        label=_("Email the patient a confirmation"),
        required=False,
        initial=True,
        help_text=_(
            "With a calendar file. Untick if the caller does not want one; the reminder the day before still "
            "goes to an address on file."
        ),
    )
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = Patient.objects.visible_to(user).current()
        # Staff may book practitioners who are not shown online, as long as they are active.
        self.fields["practitioner"].queryset = Practitioner.objects.filter(is_active=True)
        self.fields["name"].widget.attrs["autocomplete"] = "off"
        self.fields["phone"].widget.attrs.update({"type": "tel", "inputmode": "tel", "autocomplete": "off"})
        self.fields["email"].widget.attrs["autocomplete"] = "off"

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if has_hidden_characters(self.cleaned_data["name"]) or looks_like_a_link(name):
            raise forms.ValidationError(gettext("Please type just the patient's name, in letters."))
        return name

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        if not raw:
            return ""
        e164 = phones.e164(raw)
        if not e164:
            raise forms.ValidationError(gettext("This isn't a valid phone number. Please include the area code."))
        return e164

    def clean_request_key(self):
        key = self.cleaned_data["request_key"]
        if not key.isalnum():
            raise forms.ValidationError(gettext("This form is damaged. Open the add page again."))
        return key

    def clean_telehealth_url(self):
        url = self.cleaned_data["telehealth_url"]
        if url and not url.startswith("https://"):
            raise forms.ValidationError(gettext("Use a secure link that starts with https://."))
        return url

    def clean(self):
        data = super().clean()
        if data.get("patient") is None and "patient" not in self.errors:
            if not data.get("name") and "name" not in self.errors:
                self.add_error("name", gettext("Enter the caller's name, or find their record above."))
            if not data.get("phone") and not data.get("email") and not self.errors.get("phone"):
                self.add_error("phone", gettext("Enter a phone number or an email address, so we can reach them."))
        return data

    def patient_record(self):
        """The chosen record, or a new unsaved one from the typed details (saved with the booking)."""
        data = self.cleaned_data
        if data.get("patient") is not None:
            return data["patient"]
        return Patient(
            name=data["name"],
            email=data.get("email", "").lower(),
            phone=data.get("phone", ""),
            contact_preference=data.get("contact_preference") or ContactPreference.CALL,
        )


def parse_start(value):
    """An aware datetime from ISO 8601 with an offset (``2026-12-07T10:15:00-05:00``), or None."""
    text = str(value or "").strip().replace(" ", "+")  # "+" in a query string arrives as a space
    if not text or len(text) > 40:
        return None
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        return None
    if start.tzinfo is None or not 2000 <= start.year <= 9000:
        return None
    return start


def one_id(value):
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def staff_picker(form, clicked=None, *, first=None, slot=None):
    """The patient's picker for staff: free times from now (no minimum notice), with the time clicked on
    the calendar among them when it is free."""
    data = getattr(form, "cleaned_data", {}) or {}
    service, visit_type = data.get("service"), data.get("visit_type")
    picker = Picker(chosen_slot=slot or "", telehealth=visit_type == VisitType.TELEHEALTH)
    choice_errors = {k: v for k, v in form.errors.items() if k in ("service", "visit_type", "location", "practitioner")}
    if choice_errors or not service or not visit_type:
        picker.problems = [str(e) for errors in choice_errors.values() for e in errors]
        return picker
    free = set(slots_for(service, visit_type, data.get("location"), data.get("practitioner"), staff=True))
    if clicked is not None:
        free.add(clicked)
    picker.ready = True
    picker.days, picker.earlier, picker.later = page_of_days(free, first=first, slot=slot)
    return picker


class PhoneBookingMixin:
    """BookingAdmin's add page."""

    def has_add_permission(self, request):
        # The front desk (who may change bookings) books callers; practitioners and editors do not.
        return request.user.has_perm("booking.add_booking") and request.user.has_perm("booking.change_booking")

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._phone_post(request)
        return self._phone_get(request)

    # GET: the prefilled form ---------------------------------------------------------------------

    def _phone_get(self, request):
        params = request.GET
        initial = {"request_key": uuid.uuid4().hex, "visit_type": VisitType.IN_CLINIC, "email_patient": True}
        problems = {}
        clicked = None
        if "practitioner" in params:
            practitioner = Practitioner.objects.filter(is_active=True, pk=one_id(params["practitioner"])).first()
            if practitioner is None:
                problems["practitioner"] = gettext("The practitioner in the link was not found: choose one.")
            else:
                initial["practitioner"] = practitioner.pk
                service = practitioner.services.active().order_by("order", "name").first()
                if service is not None:
                    initial["service"] = service.pk
                    if not service.in_clinic and service.telehealth:
                        initial["visit_type"] = VisitType.TELEHEALTH
        if "start" in params:
            clicked = parse_start(params["start"])
            if clicked is None:
                problems["slot"] = gettext(
                    "The time in the link could not be read (expected e.g. 2026-12-07T10:15:00-05:00): choose a time."
                )
            elif clicked < booking_window(staff=True)[0]:
                problems["slot"] = gettext("The time in the link has passed: choose a time.")
                clicked = None
            else:
                initial["slot"] = encode_slot(clicked)
        if "patient" in params:
            patient = Patient.objects.visible_to(request.user).current().filter(pk=one_id(params["patient"])).first()
            if patient is None:
                problems["patient"] = gettext("The patient in the link was not found: search for them below.")
            else:
                initial["patient"] = patient.pk
        form = PhoneBookingForm(initial=initial, user=request.user)
        # Validate just the choices to show times (never the patient part: nothing typed yet is not a mistake).
        choices = PhoneBookingForm(
            {**{k: v for k, v in initial.items() if k in ("service", "visit_type", "practitioner")}},
            user=request.user,
        )
        choices.is_valid()
        picker = staff_picker(choices, clicked, slot=initial.get("slot"))
        return self._phone_page(request, form, picker, problems=problems, patient_id=initial.get("patient"))

    # POST: refresh the times, or save -----------------------------------------------------------

    def _phone_post(self, request):
        form = PhoneBookingForm(request.POST, user=request.user)
        key = str(request.POST.get("request_key", ""))
        existing = self._made_with_key(key)
        if existing is not None:
            return self._already_saved(request, existing)
        refresh = request.POST.get("action") == "refresh" or "from" in request.POST
        valid = form.is_valid()
        clicked = form.cleaned_data.get("slot") if hasattr(form, "cleaned_data") else None
        if refresh or not valid:
            if refresh:
                typed = {k: v for k, v in request.POST.items() if k not in ("action", "from")}
                typed["email_patient"] = "email_patient" in request.POST
                form = PhoneBookingForm(initial=typed, user=request.user)
                choices = PhoneBookingForm(request.POST, user=request.user)
                choices.is_valid()
            else:
                choices = form
            picker = staff_picker(choices, clicked, first=request.POST.get("from"), slot=request.POST.get("slot"))
            return self._phone_page(request, form, picker, patient_id=request.POST.get("patient"))
        data = form.cleaned_data
        patient = form.patient_record()
        try:
            booking = book_by_phone(
                service=data["service"],
                visit_type=data["visit_type"],
                location=data.get("location"),
                practitioner=data.get("practitioner"),
                start=data["slot"],
                patient=patient,
                by=request.user,
                email_patient=data["email_patient"],
                telehealth_url=data.get("telehealth_url", ""),
                note=data.get("note", ""),
                request_key=data["request_key"],
            )
        except SlotTaken:
            existing = self._made_with_key(key)
            if existing is not None:  # the same form sent twice at once: the other request saved it
                return self._already_saved(request, existing)
            form.add_error(
                "slot",
                gettext("That time is not free (another booking, time off or outside working hours). Choose another."),
            )
        except NotAllowed as exc:
            form.add_error("telehealth_url", str(exc))
        else:
            self.log_addition(request, booking, [{"added": {}}])
            sent = data["email_patient"] and booking.patient.email
            text = (
                gettext("Booked %(ref)s for %(when)s, confirmed; the patient is emailed the confirmation.")
                if sent
                else gettext("Booked %(ref)s for %(when)s, confirmed; no email was sent.")
            )
            messages.success(request, text % {"ref": booking.reference, "when": local_label(booking.start)})
            return redirect(change_url(booking))
        picker = staff_picker(form, clicked, slot=request.POST.get("slot"))
        return self._phone_page(request, form, picker, patient_id=request.POST.get("patient"))

    def _made_with_key(self, key):
        if not key or not key.isalnum() or len(key) > 64:
            return None
        return Booking.objects.filter(request_key=key).first()

    def _already_saved(self, request, booking):
        messages.info(
            request,
            gettext("This form was already sent: %(ref)s is booked for %(when)s. Nothing else was saved.")
            % {"ref": booking.reference, "when": local_label(booking.start)},
        )
        return redirect(change_url(booking))

    # The page ---------------------------------------------------------------------------------

    def _phone_page(self, request, form, picker, *, problems=None, patient_id=None):
        patient = None
        pid = one_id(patient_id)
        visible = Patient.objects.visible_to(request.user).current()
        if pid is not None:
            patient = visible.filter(pk=pid).first()
        term = str(request.GET.get("q", ""))[:100].strip()
        found = list(search(visible, term)[:SEARCH_RESULTS]) if term else []
        if term:
            record_bulk_read(request, BulkAccess.View.PATIENT_LIST, len(found), query=f"q={term}")
        keep = request.GET.copy()
        keep.pop("q", None)
        keep.pop("patient", None)
        for candidate in found:
            query = keep.copy()
            query["patient"] = candidate.pk
            candidate.choose_url = f"?{query.urlencode()}"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Book a caller"),
            "form": form,
            "picker": picker,
            "problems": problems or {},
            "chosen_patient": patient,
            "search_term": term,
            "found": found,
            "searched": bool(term),
            "clear_patient_url": "?" + keep.urlencode(),
            "today": today(),
            "media": self.media,
            "changelist_url": reverse("admin:booking_booking_changelist"),
        }
        return TemplateResponse(request, "admin/booking/booking/phone_add.html", context)
