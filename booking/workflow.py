"""Booking state changes: every path (patient page, admin action, command) goes through here, so each
change is checked against the rules, recorded as a BookingEvent and followed by the right email."""

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import datetimes
from clinic.db import retry_lost_races, transaction_lock

from . import patients
from .models import Booking, BookingEvent, BookingPolicy, BookingStatus, PatientType, VisitType
from .notifications import emails, reminders
from .notifications.mailboxes import normalise_email
from .scheduling.slotcheck import free_at, why_not_bookable

PATIENT = "patient"
# The patient changing a visit from their signed-in visits page (the history says so); the same rules apply.
PATIENT_SIGNED_IN = "patient (signed in)"
PATIENTS = frozenset({PATIENT, PATIENT_SIGNED_IN})
SYSTEM = "system"


class SlotTaken(Exception):
    """The chosen time is no longer free. `reason` says why in plain words when it is not another booking
    (in the past, outside hours, a closure, the minimum notice, the horizon); None for a race lost."""

    def __init__(self, reason=None):
        super().__init__(reason or "")
        self.reason = reason


class NotAllowed(Exception):
    """The requested change of state is not allowed from the booking's current state."""


class TooManyOpen(Exception):
    """This email address already has as many open requests as the clinic allows."""


class Stale(Exception):
    """The form was made from an earlier state of the booking (another tab, a repeat, a colleague's change).

    Nothing was changed; the message says what the booking is now, in plain words.
    """

    def __init__(self, booking):
        self.booking = booking
        message = _("This booking changed since you opened this page: it is now %(state)s.") % {
            "state": describe(booking)
        }
        super().__init__(message.replace("..", "."))  # "… 9 a.m.." reads as a typo


class Unchanged(Exception):
    """The change asked for is what the booking already is (e.g. a move to its current time)."""


def describe(booking):
    """A booking's state and time in plain words, e.g. "confirmed for Friday 11 December, 9 a.m."."""
    when = datetimes.local_when(booking.start, year=False)
    return _("%(status)s for %(when)s") % {"status": booking.get_status_display().lower(), "when": when}


def posted_version(data, name="version"):
    """The booking version a form was made from (its hidden field), or 0 if missing or mangled (never current)."""
    value = str(data.get(name, ""))
    return int(value) if value.isdigit() and len(value) < 10 else 0


def _check_version(booking, version):
    if version is not None and int(version) != booking.version:
        raise Stale(booking)


@dataclass
class PatientDetails:
    name: str
    email: str
    phone: str
    phone_as_typed: str
    contact_preference: str
    patient_type: str
    reason: str
    privacy_version: str


def _actor(user):
    if user is None:
        return None, SYSTEM
    if isinstance(user, str):
        return None, user
    return user, user.get_username()


def event(booking, *, by, from_status, to_status, note=""):
    """One line of the booking's history, not saved yet (record saves it)."""
    user, actor = _actor(by)
    return BookingEvent(
        booking=booking, user=user, actor=actor, from_status=from_status or "", to_status=to_status, note=note[:500]
    )


def record(booking, *, by, from_status, to_status, note=""):
    row = event(booking, by=by, from_status=from_status, to_status=to_status, note=note)
    row.save(force_insert=True)
    return row


def _confirm_instantly():
    return BookingPolicy.current().confirm_instantly


def _hold_slot(booking_fields, candidates):
    """Insert the booking for the first candidate practitioner who is still free.

    The candidates were checked free in this transaction (free_at), which gives the friendly answer; on
    PostgreSQL the exclusion constraint is the real guarantee (a concurrent insert that slipped past the
    check fails with IntegrityError, and the next candidate is tried), and on SQLite the IMMEDIATE write
    transaction, taken before the check, serialises competing requests.
    """
    for practitioner_id in candidates:
        try:
            with transaction.atomic():
                return Booking.objects.create(practitioner_id=practitioner_id, **booking_fields)
        except IntegrityError:
            continue
    raise SlotTaken


@dataclass
class SignedIn:
    """A request made while signed in at /visits/: the signed-in folded address and the record chosen in the
    form (None: someone new in the family, a new record under the address)."""

    email_key: str
    patient_id: int | None


NotInFamily = patients.NotInFamily


@retry_lost_races(give_up=lambda: SlotTaken())
def request_booking(
    *,
    service,
    visit_type,
    location,
    practitioner,
    start,
    patient: PatientDetails,
    request_key=None,
    now=None,
    signed_in: SignedIn | None = None,
    honour_holds=True,
    note=None,
):
    """Save a patient's request for a free slot (one transaction) and queue its emails.

    A time held for a waiting patient is not free online (`honour_holds`); claiming that offer books it
    with holds ignored (booking/waitlist/offers.py), under the same database constraint.

    The per-email cap is counted inside the same transaction, under a lock on the normalised address,
    so concurrent requests with one address cannot all see "under the cap" and all be saved. Signed in,
    the booking goes to the record chosen (or a new one under the address): no matching; NotInFamily when
    that record is not under the signed-in address (nothing is saved).
    """
    now = now or timezone.now()
    if visit_type == VisitType.TELEHEALTH:
        location = None
    email_key = normalise_email(patient.email)
    with transaction.atomic():
        transaction_lock(email_key)
        open_count = Booking.objects.active().filter(email_key=email_key, start__gte=now).count()
        if open_count >= settings.BOOKING_MAX_OPEN_PER_EMAIL:
            raise TooManyOpen
        candidates = free_at(service, visit_type, location, practitioner, start, now=now, honour_holds=honour_holds)
        if not candidates:
            raise SlotTaken(why_not_bookable(service, visit_type, location, practitioner, start, now=now))
        end = start + service.duration
        if signed_in is None:
            by, requested_note = PATIENT, _("Requested online")
            record_of = patients.attach_online_request(
                name=patient.name,
                email=patient.email,
                phone=patient.phone,
                contact_preference=patient.contact_preference,
            )
        else:
            by, requested_note = PATIENT_SIGNED_IN, _("Requested online, signed in at /visits/")
            record_of = patients.attach_signed_in(
                email_key=signed_in.email_key,
                patient_id=signed_in.patient_id,
                name=patient.name,
                email=patient.email,
                phone=patient.phone,
                contact_preference=patient.contact_preference,
            )
        # A patient the clinic asked to book with staff still gets the same page; staff review the request.
        instant = _confirm_instantly() and record_of.may_book_online
        status = BookingStatus.CONFIRMED if instant else BookingStatus.REQUESTED
        fields = {
            "patient": record_of,
            "service": service,
            "visit_type": visit_type,
            "location": location,
            "start": start,
            "end": end,
            "blocked_until": end + service.buffer,
            "status": status,
            "patient_name": record_of.name if signed_in and signed_in.patient_id else patient.name,
            "email": patient.email,
            "email_key": email_key,
            "phone": patient.phone,
            "phone_as_typed": patient.phone_as_typed,
            "contact_preference": patient.contact_preference,
            "patient_type": patient.patient_type,
            "reason": patient.reason,
            "consent_at": now,
            "privacy_version": patient.privacy_version,
            "request_key": request_key,
        }
        booking = _hold_slot(fields, candidates)
        # History and emails are written with one INSERT each (a request is the busiest write on the site).
        events = [event(booking, by=by, from_status="", to_status=BookingStatus.REQUESTED, note=note or requested_note)]
        if status == BookingStatus.CONFIRMED:
            events.append(
                event(
                    booking,
                    by=SYSTEM,
                    from_status=BookingStatus.REQUESTED,
                    to_status=status,
                    note=_("Confirmed instantly"),
                )
            )
            to_patient = emails.outbox_row(emails.Kind.CONFIRMATION, booking, calendar=emails.CALENDAR)
        else:
            to_patient = emails.outbox_row(emails.Kind.ACKNOWLEDGEMENT, booking)
        BookingEvent.objects.bulk_create(events)
        emails.queue_together(to_patient, emails.outbox_row(emails.Kind.NEW_REQUEST, booking))
        if status == BookingStatus.CONFIRMED:
            reminders.plan(booking, now)
            _send_intake_form(booking)
    return booking


def _send_intake_form(booking, *, email=True):
    """A confirmed first visit of a kind gets its health questionnaire (booking/intake/sending.py)."""
    from .intake.sending import queue_form_if_needed

    queue_form_if_needed(booking, email=email)


def _locked(booking):
    # Lock only the booking row: PostgreSQL refuses FOR UPDATE on the nullable side of the location join.
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("service", "practitioner", "location", "patient")
        .get(pk=booking.pk)
    )


@retry_lost_races
def change_status(booking, to_status, *, by, note="", telehealth_url=None, now=None, version=None):
    """Move a booking to a new state if the rules allow it; record and email. Returns the fresh booking.

    `version` is the booking version the person's form was made from: if the booking changed since
    (or the same form arrives twice), nothing changes and Stale says what the booking is now.
    """
    now = now or timezone.now()
    with transaction.atomic():
        booking = _locked(booking)
        _check_version(booking, version)
        if not booking.can_become(to_status):
            raise NotAllowed(
                _("A %(status)s booking cannot be marked %(to)s.")
                % {"status": booking.get_status_display().lower(), "to": BookingStatus(to_status).label.lower()}
            )
        if to_status in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW) and booking.start > now:
            raise NotAllowed(_("This appointment has not started yet."))
        if to_status == BookingStatus.CONFIRMED:
            if telehealth_url:
                booking.telehealth_url = telehealth_url
            if booking.is_telehealth and not booking.video_link:
                raise NotAllowed(_("Add a video link first: telehealth bookings need one to be confirmed."))
        from_status = booking.status
        booking.status = to_status
        if to_status in (BookingStatus.CONFIRMED, BookingStatus.CANCELLED):
            booking.ics_sequence += 1
        booking.version += 1
        booking.save()
        record(booking, by=by, from_status=from_status, to_status=to_status, note=note)
        reminders.plan(booking, now)
        if to_status == BookingStatus.CONFIRMED:
            emails.queue_with_calendar(emails.Kind.CONFIRMATION, booking)
            _send_intake_form(booking)
        elif to_status == BookingStatus.DECLINED:
            emails.queue(emails.Kind.DECLINED, booking, note=note)
        elif to_status == BookingStatus.CANCELLED:
            if from_status == BookingStatus.CONFIRMED:
                emails.queue_with_calendar(emails.Kind.CANCELLED, booking, cancel=True)
            else:
                emails.queue(emails.Kind.CANCELLED, booking)
            if by in PATIENTS:
                emails.queue(emails.Kind.CANCELLED_NOTICE, booking)
    return booking


def arrival_label(booking):
    """ "Arrived 9:52" on the clinic's clock, or "" before the patient arrived."""
    if not booking.arrived_at:
        return ""
    return _("Arrived %(time)s") % {"time": datetimes.local_label(booking.arrived_at, "G:i")}


def may_arrive(booking, now=None):
    """Staff can mark a patient arrived for an active booking from the start of the visit's day (clinic time)."""
    now = now or timezone.now()
    return (
        booking.is_active
        and not booking.arrived_at
        and datetimes.local_date(now) >= datetimes.local_date(booking.start)
    )


@retry_lost_races
def mark_arrived(booking, *, by, now=None, version=None):
    """Record that the patient arrived: once per booking, however many presses, tabs or instances.

    Under the row lock, a booking already marked arrived raises Unchanged (saying when), so a double press
    or a colleague's press on another screen records one event. A form made from an earlier version of the
    booking raises Stale. No email: arriving is for the front desk and the practitioner.
    """
    now = now or timezone.now()
    with transaction.atomic():
        booking = _locked(booking)
        if booking.arrived_at:
            raise Unchanged(_("The patient was already marked arrived (%(when)s).") % {"when": arrival_label(booking)})
        _check_version(booking, version)
        if not booking.is_active:
            raise NotAllowed(
                _("A %(status)s booking cannot be marked arrived.") % {"status": booking.get_status_display().lower()}
            )
        if not may_arrive(booking, now):
            raise NotAllowed(_("This appointment is on a later day."))
        booking.arrived_at = now
        booking.version += 1
        booking.save(update_fields=["arrived_at", "version", "updated"])
        record(booking, by=by, from_status=booking.status, to_status=booking.status, note=arrival_label(booking))
    return booking


@retry_lost_races(give_up=lambda: SlotTaken())
def reschedule(booking, new_start, *, by, note="", now=None, version=None):
    """Move an active booking to another free slot with the same practitioner (or any, for patients).

    Staff moves keep a confirmed booking confirmed; a patient's move goes back to review unless the
    clinic confirms instantly. The no-overlap guarantee holds exactly as for a new request. A move to
    the booking's current time raises Unchanged (nothing recorded, nothing sent); a form made from an
    earlier version raises Stale.
    """
    now = now or timezone.now()
    with transaction.atomic():
        booking = _locked(booking)
        _check_version(booking, version)
        if booking.start == new_start:
            raise Unchanged(_("Your appointment is already at that time: nothing was changed."))
        if not booking.is_active:
            raise NotAllowed(_("Only requested or confirmed bookings can be moved."))
        service = booking.service
        free = free_at(
            service,
            booking.visit_type,
            booking.location,
            booking.practitioner,
            new_start,
            now=now,
            exclude_booking=booking.pk,
            honour_holds=by == PATIENT,
        )
        if booking.practitioner_id not in free:
            if by in PATIENTS:
                reason = why_not_bookable(
                    service, booking.visit_type, booking.location, booking.practitioner, new_start, now=now
                )
                raise SlotTaken(reason)
            raise SlotTaken
        old_start = booking.start
        from_status = booking.status
        booking.start = new_start
        booking.end = new_start + service.duration
        booking.blocked_until = booking.end + service.buffer
        if by in PATIENTS and not _confirm_instantly():
            booking.status = BookingStatus.REQUESTED
        booking.ics_sequence += 1
        booking.version += 1
        try:
            with transaction.atomic():
                booking.save()
        except IntegrityError as exc:
            raise SlotTaken from exc
        moved_note = _("Moved from %(old)s") % {"old": datetimes.stamp(old_start)}
        record(
            booking,
            by=by,
            from_status=from_status,
            to_status=booking.status,
            note=f"{moved_note}. {note}".strip(". ") if note else moved_note,
        )
        if booking.status == BookingStatus.CONFIRMED:
            emails.queue_with_calendar(emails.Kind.MOVED, booking)
        else:
            emails.queue(emails.Kind.MOVED, booking)
        if by in PATIENTS:
            emails.queue(emails.Kind.MOVED_NOTICE, booking)
        reminders.plan(booking, now)
    return booking


PHONE = "phone"


@retry_lost_races(give_up=lambda: SlotTaken())
def book_by_phone(
    *,
    service,
    visit_type,
    location,
    practitioner,
    start,
    patient,
    by,
    email_patient=True,
    telehealth_url="",
    note="",
    request_key=None,
    now=None,
):
    """A booking the front desk takes from a caller: the same rules as online (working hours, the no-overlap
    constraint, the horizon) except the minimum notice; confirmed at once, recorded as booked by `by` by
    phone, and the patient emailed the confirmation unless staff said not to (or there is no address).

    `patient` is a Patient, new (unsaved: saved in the same transaction) or existing; the booking keeps a copy
    of its details for its history and emails.
    Raises SlotTaken when the time is not free (nothing is saved), NotAllowed for a telehealth booking
    without a video link.
    """
    now = now or timezone.now()
    if visit_type == VisitType.TELEHEALTH:
        location = None
    new_patient = patient.pk is None
    try:
        return _book_by_phone(
            service,
            visit_type,
            location,
            practitioner,
            start,
            patient,
            by,
            email_patient,
            telehealth_url,
            note,
            request_key,
            now,
            new_patient,
        )
    except BaseException:
        if new_patient:  # its insert was rolled back with the booking: a retry inserts it again
            patient.pk = None
            patient._state.adding = True
        raise


def _book_by_phone(
    service,
    visit_type,
    location,
    practitioner,
    start,
    patient,
    by,
    email_patient,
    telehealth_url,
    note,
    request_key,
    now,
    new_patient,
):
    from clinic.facts import get_facts

    with transaction.atomic():
        if patient.email:
            transaction_lock(normalise_email(patient.email))  # the same lock as the mailbox's online requests
        candidates = free_at(service, visit_type, location, practitioner, start, now=now, staff=True)
        if not candidates:
            raise SlotTaken
        end = start + service.duration
        returning = not new_patient and Booking.objects.filter(patient=patient).exists()
        if new_patient:
            patient.save(force_insert=True)  # a new caller's record, saved with their first booking or not at all
        profile = get_facts().profile
        fields = {
            "service": service,
            "visit_type": visit_type,
            "location": location,
            "start": start,
            "end": end,
            "blocked_until": end + service.buffer,
            "status": BookingStatus.CONFIRMED,
            "patient": patient,
            "patient_name": patient.name,
            "email": patient.email,
            "phone": patient.phone,
            "contact_preference": patient.contact_preference,
            "patient_type": PatientType.RETURNING if returning else PatientType.NEW,
            "consent_at": now,
            "privacy_version": profile.privacy_version if profile else "",
            "telehealth_url": telehealth_url or "",
            "staff_notes": note,
            "request_key": request_key,
        }
        booking = _hold_slot(fields, candidates)
        if booking.is_telehealth and not booking.video_link:
            raise NotAllowed(_("Add a video link: telehealth bookings need one to be confirmed."))
        _user, actor = _actor(by)
        record(
            booking,
            by=by,
            from_status="",
            to_status=BookingStatus.CONFIRMED,
            note=_("Booked by %(staff)s by phone") % {"staff": actor},
        )
        if email_patient and patient.email:
            emails.queue_with_calendar(emails.Kind.CONFIRMATION, booking)
        reminders.plan(booking, now)
        # Confirmed at once, so a first visit's form goes out as with any confirmation (by email only when
        # the confirmation is emailed too).
        _send_intake_form(booking, email=email_patient)
    return booking
