"""The patient's "join the waitlist" form and the front desk's forms; every field says what is wrong next to it."""

import uuid
from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic import phones
from clinic.models import Weekday

from ..forms import BookingForm, ChoicesForm, signed_start_time, submitted_by_bot
from ..models import ContactPreference, PatientType
from .models import DayPart, WaitlistEntry, codes


def last_day_allowed(now=None):
    return timezone.localdate(now or timezone.now()) + timedelta(days=settings.BOOKING_HORIZON_DAYS)


class WhenForm(forms.Form):
    """Which days and parts of the day suit, until when: shared by the patient's form and the staff form."""

    days = forms.TypedMultipleChoiceField(
        label=_("Which days suit you?"),
        choices=Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Please tick at least one day that suits you."),
            "invalid_choice": _("Please tick days from the list."),
        },
    )
    parts = forms.MultipleChoiceField(
        label=_("Which parts of the day suit you?"),
        choices=DayPart.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Please tick at least one part of the day that suits you."),
            "invalid_choice": _("Please tick parts of the day from the list."),
        },
    )
    until = forms.DateField(
        label=_("Until when?"),
        help_text=_("We stop offering you times after this day."),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Please give the last day you could come, e.g. 2026-03-31."),
            "invalid": _("Please give a date like 2026-03-31."),
        },
    )

    def clean_until(self):
        until = self.cleaned_data["until"]
        today = timezone.localdate()
        if until < today:
            raise forms.ValidationError(_("This day has passed. Please give a day from today on."))
        if until > last_day_allowed():
            raise forms.ValidationError(
                _("We book up to %(days)s days ahead. Please give a day up to %(last)s.")
                % {"days": settings.BOOKING_HORIZON_DAYS, "last": last_day_allowed().isoformat()}
            )
        return until


class JoinForm(WhenForm, ChoicesForm):
    """Join the waitlist: what and with whom (as on the booking form), when, and how to reach the patient."""

    name = BookingForm.base_fields["name"]
    email = BookingForm.base_fields["email"]
    phone = BookingForm.base_fields["phone"]
    patient_type = BookingForm.base_fields["patient_type"]
    consent = BookingForm.base_fields["consent"]
    website = BookingForm.base_fields["website"]
    started = BookingForm.base_fields["started"]
    request_key = BookingForm.base_fields["request_key"]

    field_order = [
        "service",
        "visit_type",
        "location",
        "practitioner",
        "days",
        "parts",
        "until",
        "name",
        "email",
        "phone",
        "patient_type",
        "consent",
    ]

    clean_name = BookingForm.clean_name
    clean_email = BookingForm.clean_email
    clean_phone = BookingForm.clean_phone
    clean_request_key = BookingForm.clean_request_key

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].empty_label = _("Any practitioner")
        if not self.is_bound:
            self.initial.setdefault("started", signed_start_time())
            self.initial.setdefault("request_key", uuid.uuid4().hex)
            self.initial.setdefault("until", last_day_allowed() - timedelta(days=settings.BOOKING_HORIZON_DAYS // 2))
            self.initial.setdefault("days", [0, 1, 2, 3, 4])
            self.initial.setdefault("parts", DayPart.values)

    def is_bot(self):
        return submitted_by_bot(self.data)

    def entry_fields(self):
        data = self.cleaned_data
        return {
            "service": data["service"],
            "visit_type": data["visit_type"],
            "location": data.get("location"),
            "practitioner": data.get("practitioner"),
            "days": codes(sorted(data["days"])),
            "parts": codes(p for p in DayPart.values if p in data["parts"]),
            "until": data["until"],
            "name": data["name"],
            "email": data["email"],
            "phone": data["phone"],
            "phone_as_typed": data.get("phone_as_typed", ""),
            "contact_preference": ContactPreference.EMAIL,
            "patient_type": data["patient_type"],
        }


class StaffEntryForm(WhenForm, forms.ModelForm):
    """The front desk adds a caller (or changes an entry) in admin."""

    class Meta:
        model = WaitlistEntry
        fields = [
            "service",
            "visit_type",
            "location",
            "practitioner",
            "days",
            "parts",
            "until",
            "urgent",
            "name",
            "email",
            "phone",
            "contact_preference",
            "patient_type",
            "patient",
        ]
        widgets = {"patient": forms.HiddenInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["days"] = sorted(self.instance.weekdays)
            self.initial["parts"] = sorted(self.instance.day_parts)
        else:
            self.initial.setdefault("days", [0, 1, 2, 3, 4])
            self.initial.setdefault("parts", DayPart.values)
            self.initial.setdefault("patient_type", PatientType.RETURNING)

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        e164 = phones.e164(raw)
        if not e164:
            raise forms.ValidationError(_("This isn't a valid phone number. Please include the area code."))
        self.instance.phone_as_typed = raw
        return e164

    def clean_days(self):
        return codes(sorted(self.cleaned_data["days"]))

    def clean_parts(self):
        chosen = self.cleaned_data["parts"]
        return codes(p for p in DayPart.values if p in chosen)

    def clean(self):
        data = super().clean()
        service, visit = data.get("service"), data.get("visit_type")
        if service and visit and not service.offers(visit):
            self.add_error("visit_type", _("This service isn't offered this way."))
        if visit == "telehealth":
            data["location"] = None
        practitioner = data.get("practitioner")
        if service and practitioner and not service.practitioners.filter(pk=practitioner.pk).exists():
            self.add_error("practitioner", _("This practitioner doesn't offer this service."))
        return data


class StaffOfferForm(forms.Form):
    """Offer one free time to a chosen waiting patient (the value is the practitioner and start)."""

    time = forms.ChoiceField(
        label=_("Free time to offer"), error_messages={"required": _("Please choose a time to offer.")}
    )

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time"].choices = choices
