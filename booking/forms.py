"""The patient's appointment request form: every field validated with a plain-words message."""

import hashlib
import re
import unicodedata
import uuid
from datetime import UTC, date, datetime

from django import forms
from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic import caching, phones
from clinic.models import Location, Practitioner

from .models import ContactPreference, PatientType, Service, VisitType
from .notifications.mailboxes import normalise_email
from .visits.family import NEW_PERSON

SLOT_FORMAT = "%Y%m%dT%H%MZ"
STARTED_SALT = "booking.form-started"
STARTED_MAX_AGE = 60 * 60 * 24  # a form older than a day is sent again from a fresh page


def encode_slot(start):
    return start.astimezone(UTC).strftime(SLOT_FORMAT)


def decode_slot(value):
    try:
        start = datetime.strptime(str(value), SLOT_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    # Real slots are within the booking horizon; a far-off year would overflow time-zone arithmetic (a 500).
    return start if 2000 <= start.year <= 9000 else None


def parse_date(value):
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


class SlotField(forms.CharField):
    """A start time chosen in the picker: its encoded value in, an aware UTC datetime out.

    The one slot check shared by the request form and the move form (patient and staff alike).
    """

    default_error_messages = {"required": _("Please choose a time."), "invalid": _("Please choose a time.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Time"))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        start = decode_slot(value) if len(value) <= 20 else None
        if start is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return start


class ServiceSelect(forms.Select):
    """Service options that say which visit types, practitioners and locations fit them (read by booking.js)."""

    fits = {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        fit = self.fits.get(str(getattr(value, "value", value)))
        if fit:
            option["attrs"].update(fit)
        return option


class ChoicesForm(forms.Form):
    """What and where: the part of the form that decides which times are shown."""

    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.none(),
        empty_label=_("Choose a service"),
        widget=ServiceSelect,
        error_messages={"required": _("Please choose a service."), "invalid_choice": _("Please choose a service.")},
    )
    visit_type = forms.ChoiceField(
        label=_("Where would you like your appointment?"),
        choices=VisitType.choices,
        initial=VisitType.IN_CLINIC,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose in the clinic or telehealth.")},
    )
    location = forms.ModelChoiceField(
        label=_("Location"),
        queryset=Location.objects.none(),
        required=False,
        empty_label=None,
        error_messages={"invalid_choice": _("Please choose a location.")},
    )
    practitioner = forms.ModelChoiceField(
        label=_("Practitioner"),
        queryset=Practitioner.objects.none(),
        required=False,
        empty_label=_("Any available practitioner"),
        error_messages={"invalid_choice": _("Please choose a practitioner from the list.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.active().select_related("treatment")
        self.fields["location"].queryset = Location.objects.filter(is_active=True)
        self.fields["practitioner"].queryset = Practitioner.objects.bookable()

    def describe_fits(self):
        """Tell each service option which visit types, practitioners and locations fit it (for the script)."""
        widget = self.fields["service"].widget
        # The services a patient may book as a course online are also named beside the course fields.
        widget.fits, self.course_services = service_fits(self.fields["service"].queryset)

    def clean(self):
        data = super().clean()
        service, visit = data.get("service"), data.get("visit_type")
        if service and visit and not service.offers(visit):
            self.add_error("visit_type", self._visit_mismatch(service, visit))
        if visit == VisitType.IN_CLINIC and not data.get("location") and "location" not in self.errors:
            only = self.fields["location"].queryset[:2]
            if len(only) == 1:
                data["location"] = only[0]
            else:
                self.add_error("location", _("Please choose a location."))
        if visit == VisitType.TELEHEALTH:
            data["location"] = None
        practitioner = data.get("practitioner")
        if service and practitioner and not service.practitioners.filter(pk=practitioner.pk).exists():
            offering = ", ".join(p.name for p in service.practitioners.filter(is_active=True))
            message = _("%(name)s doesn't offer %(service)s. Choose “Any available practitioner”") % {
                "name": practitioner.name,
                "service": service.name,
            }
            if offering:
                message += _(" or one of: %(names)s.") % {"names": offering}
            else:
                message += "."
            self.add_error("practitioner", message)
        return data

    def _visit_mismatch(self, service, visit):
        """Say what does not fit and what to choose instead, so a refresh without JavaScript is no dead end."""
        if visit == VisitType.TELEHEALTH:
            others = self.fields["service"].queryset.filter(telehealth=True)
            message = _("%(service)s isn't offered by video. Choose “In the clinic”") % {"service": service.name}
        else:
            others = self.fields["service"].queryset.filter(in_clinic=True)
            message = _("%(service)s is offered by video only. Choose “Telehealth (video)”") % {"service": service.name}
        names = ", ".join(s.name for s in others[:6])
        if names:
            return message + _(", or another service: %(names)s.") % {"names": names}
        return message + "."


def service_fits(services):
    """(per service id: data attributes naming its visit types, practitioners and locations; the names of the
    services that may be booked as a course online)."""
    from .models import WorkingHours

    services = list(services.prefetch_related("practitioners"))
    hours = WorkingHours.objects.filter(location__isnull=False).values_list("practitioner_id", "location_id")
    places = {}
    for pid, lid in hours:
        places.setdefault(pid, set()).add(lid)
    fits, course_services = {}, []
    for service in services:
        pids = [p.pk for p in service.practitioners.all() if p.is_active]
        visits = [v for v in (VisitType.IN_CLINIC, VisitType.TELEHEALTH) if service.offers(v)]
        locations = sorted({lid for pid in pids for lid in places.get(pid, ())})
        fits[str(service.pk)] = {
            "data-visits": " ".join(visits),
            "data-practitioners": " ".join(map(str, pids)),
            "data-locations": " ".join(map(str, locations)),
        }
        if service.allows_online_course:
            fits[str(service.pk)]["data-course"] = "yes"
            course_services.append(service.name)
    return fits, course_services


# A name is mailed back to whatever address was typed ("Hello <name>"), so it must not carry a link.
LINK_RE = re.compile(
    r"(://|\bwww\.|\b[a-z0-9-]+\.(?:com|net|org|info|biz|io|co|me|app|xyz|top|link|site|online|shop|ru|cn|ca|us|uk)\b)",
    re.IGNORECASE,
)
# Joiners some scripts need inside names (Persian, Indic); every other format or control character is refused,
# including the bidirectional overrides that make text print in a different order than it was typed.
ALLOWED_FORMAT_CHARACTERS = {"\u200c", "\u200d"}


def looks_like_a_link(text):
    return bool(LINK_RE.search(text))


def has_hidden_characters(text):
    return any(
        unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp") and ch not in ALLOWED_FORMAT_CHARACTERS
        for ch in text
        if not ch.isspace()  # tabs and line breaks are folded into single spaces
    )


class BookingForm(ChoicesForm):
    """The whole request: choices, a time, and the patient's details."""

    slot = SlotField()
    name = forms.CharField(
        label=_("Your full name"),
        max_length=120,
        error_messages={"required": _("Please enter your name.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        error_messages={
            "required": _("Please enter your email address."),
            "invalid": _("This isn't a valid email address. It should look like name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        help_text=_("A mobile number if you'd like texts, e.g. 416 555 0123."),
        error_messages={"required": _("Please enter your phone number.")},
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel", "inputmode": "tel"}),
    )
    contact_preference = forms.ChoiceField(
        label=_("How should we contact you?"),
        choices=ContactPreference.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose how we should contact you.")},
    )
    patient_type = forms.ChoiceField(
        label=_("Have you been to our clinic before?"),
        choices=PatientType.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please tell us whether you are a new or returning patient.")},
    )
    reason = forms.CharField(
        label=_("Reason for your visit (optional)"),
        required=False,
        max_length=500,
        help_text=_("A few words are enough, up to 500 characters. Only clinic staff see this; it is never emailed."),
        error_messages={"max_length": _("Please keep this to 500 characters or fewer (you have %(show_value)d).")},
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )
    consent = forms.BooleanField(
        label=_("I have read the privacy notice and agree that the clinic may use these details to arrange my care."),
        error_messages={"required": _("Please confirm you agree to the privacy notice so we can store your request.")},
    )
    # A course of treatment: the same weekday and time every few weeks, for services that allow it online.
    course_visits = forms.TypedChoiceField(
        label=_("How many visits?"),
        coerce=int,
        choices=[(1, _("Just this visit"))]
        + [(n, _("A course of %(count)d visits") % {"count": n}) for n in range(2, 13)],
        initial=1,
        required=False,
        empty_value=1,
        help_text=_("For services that offer a course: the same weekday and time, every one to four weeks."),
        error_messages={"invalid_choice": _("Please choose how many visits.")},
    )
    course_every_weeks = forms.TypedChoiceField(
        label=_("How often?"),
        coerce=int,
        choices=[(1, _("Every week"))] + [(n, _("Every %(count)d weeks") % {"count": n}) for n in range(2, 5)],
        initial=1,
        required=False,
        empty_value=1,
        error_messages={"invalid_choice": _("Please choose how often.")},
    )
    # Bot traps: a field people never see, a signed start time, and a one-time key for double submits.
    website = forms.CharField(label=_("Leave this field empty"), required=False, max_length=200)
    started = forms.CharField(required=False, widget=forms.HiddenInput, max_length=200)
    request_key = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    field_order = [
        "service",
        "visit_type",
        "location",
        "practitioner",
        "slot",
        "name",
        "email",
        "phone",
        "contact_preference",
        "patient_type",
        "reason",
        "consent",
        "course_visits",
        "course_every_weeks",
    ]

    def __init__(self, *args, signed_in_key=None, family=(), **kwargs):
        """`signed_in_key`: the folded address of a patient signed in at /visits/; `family`: the patient records
        that sign-in covers (booking.visits.family.chosen_patients). Then the form asks whom the visit is for,
        among those records or someone new, and that choice, not matching, decides the booking's record."""
        super().__init__(*args, **kwargs)
        self.signed_in_key = signed_in_key
        if signed_in_key:
            choices = [(str(p.pk), p.name) for p in family] + [(NEW_PERSON, _("Someone else in my family"))]
            self.fields["for_patient"] = forms.ChoiceField(
                label=_("Who is this visit for?"),
                choices=choices,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Please choose who this visit is for."),
                    "invalid_choice": _("Please choose who this visit is for from the list."),
                },
            )
            if len(choices) == 2:
                self.fields["for_patient"].initial = choices[0][0]
            name = self.fields["name"]
            name.required = False
            name.label = _("Full name of the person this visit is for")
            name.help_text = _(
                "Needed for someone else in your family; for anyone listed above, their record's name is used."
            )
        if not self.is_bound:
            self.initial.setdefault("started", signed_start_time())
            self.initial.setdefault("request_key", uuid.uuid4().hex)

    @property
    def patient_choice(self):
        """The bound "Who is this visit for?" field when signed in, else None (for the template)."""
        return self["for_patient"] if "for_patient" in self.fields else None

    def chosen_patient_id(self):
        """The record chosen (an id the sign-in covers), or None for someone new or when not signed in."""
        choice = self.cleaned_data.get("for_patient")
        return int(choice) if choice and choice != NEW_PERSON else None

    def clean(self):
        data = super().clean()
        if self.signed_in_key:
            email = data.get("email")
            if email and normalise_email(email) != self.signed_in_key:
                self.add_error(
                    "email",
                    _("You're signed in with another email address. Book with that one, or sign out to use this one."),
                )
            if data.get("for_patient") == NEW_PERSON and not data.get("name") and "name" not in self.errors:
                self.add_error("name", _("Please enter the name of the person this visit is for."))
        return data

    def clean_name(self):
        raw = self.cleaned_data["name"]
        if not raw and not self.fields["name"].required:
            return ""
        if has_hidden_characters(raw):
            raise forms.ValidationError(
                _("Your name contains invisible or control characters. Please type it again using letters only.")
            )
        name = " ".join(raw.split())
        if not name:
            raise forms.ValidationError(_("Please enter your name."))
        if looks_like_a_link(name):
            raise forms.ValidationError(_("Please enter just your name, without a web address."))
        return name

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_course_visits(self):
        visits = self.cleaned_data.get("course_visits") or 1
        service = self.cleaned_data.get("service")
        if visits > 1 and service is not None and not service.allows_online_course:
            raise forms.ValidationError(
                _(
                    "%(service)s can't be booked as a course online. "
                    "Choose “Just this visit”, or call us to book a course."
                )
                % {"service": service.name}
            )
        return visits

    def wants_course(self):
        return (self.cleaned_data.get("course_visits") or 1) > 1

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        e164 = phones.e164(raw)
        if not e164:
            raise forms.ValidationError(_("This isn't a valid phone number. Please include the area code."))
        self.cleaned_data["phone_as_typed"] = raw
        return e164

    def clean_request_key(self):
        key = self.cleaned_data.get("request_key", "")
        return key if key.isalnum() else ""

    def _started_key(self):
        token = str(self.data.get("started", ""))
        return "book:started:" + hashlib.sha256(token.encode()).hexdigest()[:32]

    def claim_started_token(self):
        """Mark the signed start time as used (shared cache, so on every instance): one booking per form.

        False when it was already used. A cache outage allows the request (fail open, like the rate limit).
        """
        key = self._started_key()
        if caching.add(key, 1, STARTED_MAX_AGE):
            return True
        return caching.get(key) is None

    def release_started_token(self):
        """The request was not saved (a taken slot, the cap): the same form may be sent again."""
        caching.delete(self._started_key())

    def is_bot(self):
        return submitted_by_bot(self.data)


def signed_start_time():
    """The value of a public form's hidden "started" field: when the page was made, signed."""
    return signing.dumps(timezone.now().timestamp(), salt=STARTED_SALT)


def submitted_by_bot(data):
    """True when the honeypot ("website") was filled or the form came back faster than a person can type.
    The one check for every public form (booking request, waitlist)."""
    if data.get("website"):
        return True
    try:
        started = signing.loads(data.get("started", ""), salt=STARTED_SALT, max_age=STARTED_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return True
    return timezone.now().timestamp() - float(started) < settings.BOOKING_MIN_SECONDS_TO_SUBMIT


class MoveForm(forms.Form):
    """Move a booking to another time: the one form behind the patient's move page and the staff reschedule."""

    slot = SlotField()
    note = forms.CharField(label=_("Note for the history (optional)"), max_length=300, required=False)
