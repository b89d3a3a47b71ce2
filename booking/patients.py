"""Patient records: matching an online request to a record, finding a patient "typed any way", merging two
records that are one person, and a patient's visit counts.

The models (Patient, PatientAccess, PatientMerge) are in booking.models; the rules that use them are here,
so the request form, the admin and the commands share one implementation.
"""

import re

from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from clinic import phones

from .models import Booking, BookingEvent, BookingStatus, Patient, PatientAccess, PatientMerge, fold_name
from .notifications.mailboxes import normalise_email

# A term made only of what people type in a phone number.
PHONE_LIKE_RE = re.compile(r"^[\d\s()+./-]+$")


def attach_online_request(*, name, email, phone, contact_preference):
    """The patient an online request belongs to: an existing record only on a strict match (folded email,
    folded name and phone all equal), else a new record, flagged as a possible duplicate when another record
    shares the email or the phone.

    Called inside the request's transaction, under the lock on the folded address (booking.notifications.mailboxes), so
    two requests from one mailbox never both create a record. The requester sees the same page either way.
    """
    email_key = normalise_email(email)
    name_key = fold_name(name)[:120]
    candidates = list(
        Patient.objects.current()
        .filter(Q(email_key=email_key) | Q(phone=phone))
        .only("pk", "email_key", "name_key", "phone", "may_book_online")
        .order_by("pk")[:20]
    )
    for patient in candidates:
        if patient.email_key == email_key and patient.name_key == name_key and patient.phone == phone:
            # One write either way (this, or the new record's insert): the answer takes as long for both.
            Patient.objects.filter(pk=patient.pk).update(contact_preference=contact_preference, updated=timezone.now())
            return patient
    return Patient.objects.create(
        name=name,
        email=email,
        phone=phone,
        contact_preference=contact_preference,
        possible_duplicate_of=candidates[0] if candidates else None,
    )


class NotInFamily(Exception):
    """The record chosen while signed in is not (or no longer) one under the signed-in address."""


def attach_signed_in(*, email_key, patient_id, name, email, phone, contact_preference):
    """The patient a request made while signed in at /visits/ belongs to, without matching: the record chosen
    (`patient_id`, one the sign-in covers; checked again here to be current and under the signed-in address),
    or, for someone new in the family (`patient_id` None), a new record under that address.

    Called inside the request's transaction, under the lock on the folded address, like attach_online_request.
    """
    if normalise_email(email) != email_key:
        raise NotInFamily
    if patient_id is not None:
        record = Patient.objects.current().filter(pk=patient_id, email_key=email_key).first()
        if record is None:
            raise NotInFamily
        return record
    # Someone new, but a record under the address has the same name: staff decide whether they are one person.
    same_name = Patient.objects.current().filter(email_key=email_key, name_key=fold_name(name)[:120]).first()
    return Patient.objects.create(
        name=name, email=email, phone=phone, contact_preference=contact_preference, possible_duplicate_of=same_name
    )


def search(queryset, term):
    """Patients matching `term` however it was typed: every word of a name or email (any case, accents or
    order), any run of a phone number's digits ("(416) 555-0134", "416.555.01", "+1 416…"), or the number
    itself in any format. On PostgreSQL words are served by the trigram index on search_text, and a phone
    number by the trigram index on phone_digits alone (migration 0016), so every way of typing is an index scan."""
    term = str(term or "").strip()[:200]
    if not term:
        return queryset
    if PHONE_LIKE_RE.match(term):
        # Digits "contained in" (any run, so also "ends with") the phone's digits, never the name or email's.
        digits = re.sub(r"\D", "", term)
        match = Q(phone_digits__contains=digits) if len(digits) >= 3 else Q(pk__in=[])
        e164 = phones.e164(term, strict=False)
        if e164:
            # The number in any format ("020 7946 0958" for +44…): its digits, through the same index.
            match |= Q(phone_digits__contains=e164.lstrip("+"))
        return queryset.filter(match)
    words = fold_name(term).split()
    query = Q()
    for word in words[:6]:
        query &= Q(search_text__contains=word)
    return queryset.filter(query)


def visit_counts(patient, now=None, *, bookings=None):
    """How often a patient came, did not come, and cancelled late (within the late-cancellation window).

    `bookings` narrows what is counted to the visits the reader may see (a practitioner: their own), so the
    counts never tell of visits with someone else; unset, every visit of the patient counts."""
    from django.conf import settings

    now = now or timezone.now()
    late = timezone.timedelta(hours=settings.BOOKING_CANCEL_NOTICE_HOURS)
    bookings = Booking.objects.filter(patient=patient) if bookings is None else bookings.filter(patient=patient)
    counts = bookings.aggregate(
        visits=Count("pk", filter=Q(status=BookingStatus.COMPLETED)),
        no_shows=Count("pk", filter=Q(status=BookingStatus.NO_SHOW)),
        upcoming=Count("pk", filter=Q(status__in=(BookingStatus.REQUESTED, BookingStatus.CONFIRMED), start__gte=now)),
    )
    # A cancellation is late when it was recorded inside the window before the visit's start.
    cancelled = BookingEvent.objects.filter(booking__in=bookings.values("pk"), to_status=BookingStatus.CANCELLED)
    cancellations = cancelled.values_list("at", "booking__start")
    counts["late_cancellations"] = sum(1 for at, start in cancellations if start - at < late)
    return counts


@transaction.atomic
def merge(keep, other, *, by):
    """Move everything of `other` into `keep` (bookings with their history, notes, access log) and record the
    merge; `other` is then deleted. Returns the PatientMerge row."""
    if keep.pk == other.pk:
        raise ValueError("A patient cannot be merged into itself.")
    # Lock both rows in a fixed order, so two people merging the same pair cannot interleave.
    locked = {p.pk: p for p in Patient.objects.select_for_update().filter(pk__in=[keep.pk, other.pk]).order_by("pk")}
    keep, other = locked[keep.pk], locked[other.pk]
    events = BookingEvent.objects.filter(booking__patient=other).count()
    moved = Booking.objects.filter(patient=other).update(patient=keep)
    PatientAccess.objects.filter(patient=other).update(patient=keep)
    other.waitlist_entries.update(patient=keep)
    PatientMerge.objects.filter(kept=other).update(kept=keep)
    Patient.objects.filter(possible_duplicate_of=other).exclude(pk=keep.pk).update(possible_duplicate_of=keep)
    if other.notes.strip():
        keep.notes = "\n\n".join(filter(None, [keep.notes.strip(), other.notes.strip()]))
    for name in ("email", "phone"):
        if not getattr(keep, name) and getattr(other, name):
            setattr(keep, name, getattr(other, name))
    if keep.date_of_birth is None:
        keep.date_of_birth = other.date_of_birth
    keep.may_book_online = keep.may_book_online and other.may_book_online
    if keep.possible_duplicate_of_id == other.pk:
        keep.possible_duplicate_of = None
    keep.save()
    merged_id = other.pk
    other.delete()
    return PatientMerge.objects.create(
        kept=keep, merged_id=merged_id, bookings_moved=moved, events_moved=events, user=by if by else None
    )


def last_visits(queryset):
    """The patients in `queryset` with the start of their latest booking (``last_start``): a subquery per row
    shown (PostgreSQL evaluates it after ORDER BY … LIMIT), not a join grouped over every match."""
    latest = Booking.objects.filter(patient=OuterRef("pk")).order_by("-start").values("start")[:1]
    return queryset.annotate(last_start=Subquery(latest))
