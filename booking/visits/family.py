"""The patient records under one email address (a family) and their visits, as the signed-in patient sees them.

"Under the address" means the record's folded email (Patient.email_key, booking.notifications.mailboxes) is the
signed-in one: the same folding that matches online requests to records. Visits are the records' bookings.
"""

from dataclasses import dataclass, field

from django.utils import timezone

from clinic import phones

from ..intake.access import forms_by_patient
from ..models import Booking, Patient

# The booking form's choice for "someone else in my family": a new record under the address, made on save.
NEW_PERSON = "new"


@dataclass
class Record:
    patient: Patient
    upcoming: list = field(default_factory=list)
    past: list = field(default_factory=list)
    intake_forms_shown: list = field(default_factory=list)  # their intake forms (status and link)

    @property
    def name(self):
        return self.patient.name


def records_of(email_key):
    """The current (not anonymised) patient records under the address, by name."""
    if not email_key:
        return Patient.objects.none()
    return Patient.objects.current().filter(email_key=email_key).order_by("name_key", "pk")


def mark_signed_in(email_key, now=None):
    """A code sign-in for the address succeeded: every record under it shows the time to staff. Returns the
    records' ids (what the sign-in covers)."""
    ids = list(records_of(email_key).values_list("pk", flat=True))
    if ids:
        Patient.objects.filter(pk__in=ids).update(last_signed_in_at=now or timezone.now())
    return ids


def visits_of(email_key):
    """Every booking of the records under the address, with what its line shows, in one query."""
    return (
        Booking.objects.filter(patient__email_key=email_key, patient__anonymised_at__isnull=True)
        .filter(anonymised_at__isnull=True)
        .select_related("service", "practitioner", "location")
        .order_by("start")
    )


def family(email_key, now=None):
    """The family's records (those without bookings too), each with its upcoming visits (soonest first) and
    past ones (latest first). Two queries, however many records and visits."""
    now = now or timezone.now()
    records = {patient.pk: Record(patient) for patient in records_of(email_key)}
    if not records:
        return []
    for booking in visits_of(email_key):
        record = records.get(booking.patient_id)
        if record is None:
            continue
        if booking.end > now and booking.is_active:
            record.upcoming.append(booking)
        else:
            record.past.insert(0, booking)
    # Each family member's health forms, for all of them in one query.
    forms = forms_by_patient(list(records))
    for pk, record in records.items():
        record.intake_forms_shown = forms.get(pk, [])
    return list(records.values())


def visit_of(email_key, reference):
    """One booking of the family by its reference, or None (another family's, or no such booking: both 404)."""
    if not isinstance(reference, str) or len(reference) > 10:
        return None
    return visits_of(email_key).filter(reference=reference).first()


def chosen_patients(email_key, patient_ids):
    """The records the booking form may offer: those the sign-in covers (the session's ids) that are still
    under the address and current. Never an id from elsewhere, whatever a form posts."""
    ids = [pk for pk in patient_ids or () if isinstance(pk, int)]
    if not ids:
        return []
    return list(records_of(email_key).filter(pk__in=ids).only("pk", "name"))


def form_prefill(book_for, email_key):
    """Initial values for the booking form when a signed-in patient pressed "Book again" (that visit's patient
    record, service, practitioner, place and contact details) or "Book for someone else in my family" (a new
    record under the address: the address and phone only)."""
    if not isinstance(book_for, dict):
        return {}
    if book_for.get("again"):
        booking = visit_of(email_key, book_for["again"])
        if booking is None:
            return {}
        return {
            "for_patient": str(booking.patient_id),
            "service": booking.service_id,
            "visit_type": booking.visit_type,
            "location": booking.location_id,
            "practitioner": booking.practitioner_id,
            "name": booking.patient_name,
            "email": booking.email,
            "phone": booking.phone_as_typed or booking.phone,
            "contact_preference": booking.contact_preference,
            "patient_type": "returning",
        }
    if isinstance(book_for.get("patient"), int):
        record = records_of(email_key).filter(pk=book_for["patient"]).first()
        if record is None:
            return {}
        return {
            "for_patient": str(record.pk),
            "name": record.name,
            "email": record.email,
            "phone": phones.readable(record.phone) if record.phone else "",
            "contact_preference": record.contact_preference,
        }
    if book_for.get("new"):
        latest = visits_of(email_key).order_by("-created").first()
        prefill = {"for_patient": NEW_PERSON}
        if latest:
            prefill.update(email=latest.email, phone=latest.phone_as_typed or latest.phone)
        elif record := records_of(email_key).first():  # records without bookings yet: the record's details
            prefill.update(email=record.email, phone=phones.readable(record.phone) if record.phone else "")
        return prefill
    return {}
