"""The patient records under one email address (a family) and their visits, as the signed-in patient sees them."""

from dataclasses import dataclass, field

from django.utils import timezone

from ..models import Booking


@dataclass
class Record:
    key: str
    name: str
    upcoming: list = field(default_factory=list)
    past: list = field(default_factory=list)


def visits_of(email_key):
    """Every booking under the address, with what its line shows, in one query."""
    return (
        Booking.objects.filter(email_key=email_key, anonymised_at__isnull=True)
        .select_related("service", "practitioner", "location")
        .order_by("start")
    )


def record_key(booking):
    return " ".join(booking.patient_name.casefold().split())


def family(email_key, now=None):
    """The family's records, each with its upcoming visits (soonest first) and past ones (latest first)."""
    now = now or timezone.now()
    records = {}
    for booking in visits_of(email_key):
        record = records.setdefault(record_key(booking), Record(record_key(booking), booking.patient_name))
        if booking.end > now and booking.is_active:
            record.upcoming.append(booking)
        else:
            record.past.insert(0, booking)
    return sorted(records.values(), key=lambda r: r.name.casefold())


def visit_of(email_key, reference):
    """One booking of the family by its reference, or None (another family's, or no such booking: both 404)."""
    if not isinstance(reference, str) or len(reference) > 10:
        return None
    return visits_of(email_key).filter(reference=reference).first()


def form_prefill(book_for, email_key):
    """Initial values for the booking form when a signed-in patient pressed "Book again" (that visit's patient,
    service, practitioner, place and contact details) or "Book for someone else in my family" (the address)."""
    if not isinstance(book_for, dict):
        return {}
    if book_for.get("again"):
        booking = visit_of(email_key, book_for["again"])
        if booking is None:
            return {}
        return {
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
    if book_for.get("new"):
        latest = visits_of(email_key).order_by("-created").first()
        return {"email": latest.email, "phone": latest.phone_as_typed or latest.phone} if latest else {}
    return {}
