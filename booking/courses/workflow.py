"""Saving a course of treatment and cancelling its visits.

Saving makes one ordinary booking per visit, all in one transaction. Each visit passes the save-time check
every booking passes (booking.scheduling.slotcheck.free_at, inside the transaction: on SQLite the IMMEDIATE
write transaction already holds the database's write lock) and, on PostgreSQL, the no-overlap exclusion
constraint. If any visit's time was taken meanwhile, the whole transaction is rolled back: nothing is saved,
no email is queued, and CourseConflict names the times that were taken.

The patient gets one email for the whole course (every date, one calendar event per visit); each visit then
lives on as an ordinary booking: its own reference, reminder, late-cancellation window and moves.
"""

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.db import retry_lost_races, sqlstate, transaction_lock

from .. import patients
from ..models import Booking, BookingEvent, BookingStatus, Course, VisitType
from ..notifications import emails, reminders
from ..notifications.mailboxes import normalise_email
from ..scheduling.slotcheck import free_at
from ..workflow import (
    PATIENT,
    NotAllowed,
    TooManyOpen,
    _actor,
    _check_version,
    _confirm_instantly,
    _locked,
    _send_intake_form,
    change_status,
    event,
)
from .preview import course_window

EXCLUSION_VIOLATION = "23P01"  # PostgreSQL: the no-overlap constraint refused the row


class CourseConflict(Exception):
    """Some of the course's times were no longer free when saving; nothing was saved."""

    def __init__(self, starts):
        self.starts = list(starts)
        super().__init__(f"{len(self.starts)} time(s) taken")


class Scope(models.TextChoices):
    THIS = "this", gettext_lazy("This visit")
    FOLLOWING = "following", gettext_lazy("This visit and the following ones")
    ALL = "all", gettext_lazy("The whole course")


# What each later visit copies from the visit a course is booked from. Never the reason for the visit:
# health details stay on the booking they were given for.
COPIED_FIELDS = (
    "patient_name",
    "email",
    "phone",
    "phone_as_typed",
    "contact_preference",
    "consent_at",
    "privacy_version",
    "telehealth_url",
)


def patient_fields_from(booking):
    fields = {name: getattr(booking, name) for name in COPIED_FIELDS}
    fields["patient_id"] = booking.patient_id  # every visit belongs to the same patient record
    fields["patient_type"] = "returning"
    return fields


@retry_lost_races(give_up=lambda: CourseConflict([]))
def book_course(plan, starts, *, by, staff=True, patient_fields=None, request_key=None, version=None, now=None):
    """Book `starts` (the visits chosen from the preview, the origin booking's time excluded) as one course.

    Staff courses are confirmed at once; a patient's follows the clinic's policy (confirmed instantly or
    requested). Returns (course, the new bookings). Raises CourseConflict (nothing saved) when any start is
    no longer free, NotAllowed when the origin booking cannot start a course, Stale when it changed since
    the preview was shown, TooManyOpen when a patient's address already has as many open requests as the
    clinic allows (the course counts as one request; staff courses are not capped).
    """
    now = now or timezone.now()
    if not starts:
        raise NotAllowed(_("Choose at least one date to book."))
    window = course_window(now, staff=staff)
    location = None if plan.visit_type == VisitType.TELEHEALTH else plan.location
    service, practitioner = plan.service, plan.practitioner
    with transaction.atomic():
        origin = None
        if plan.origin is not None:
            origin = _locked(plan.origin)
            _check_version(origin, version)
            if origin.course_id:
                raise NotAllowed(_("This visit is already part of a course."))
            if not origin.is_active:
                raise NotAllowed(_("Only a requested or confirmed visit can start a course."))
            patient_fields = patient_fields_from(origin)
        patient_fields = dict(patient_fields)
        instant = staff
        if by == PATIENT:
            email_key = normalise_email(patient_fields["email"])
            transaction_lock(email_key)
            open_count = Booking.objects.active().filter(email_key=email_key, start__gte=now).count()
            if open_count >= settings.BOOKING_MAX_OPEN_PER_EMAIL:
                raise TooManyOpen
            # The patient record, matched strictly as for any online request (same lock, same rule).
            record = patients.attach_online_request(
                name=patient_fields["patient_name"],
                email=patient_fields["email"],
                phone=patient_fields["phone"],
                contact_preference=patient_fields["contact_preference"],
            )
            patient_fields["patient_id"] = record.pk
            instant = _confirm_instantly() and record.may_book_online
        reason = patient_fields.pop("reason", "")
        status = BookingStatus.CONFIRMED if instant else BookingStatus.REQUESTED
        _user, actor = _actor(by)
        course = Course.objects.create(
            service=service,
            practitioner=practitioner,
            visit_type=plan.visit_type,
            location=location,
            every_weeks=plan.every_weeks,
            visits_planned=plan.visits,
            booked_by=actor,
        )
        taken, visits = [], []
        for number, start in enumerate(sorted(starts)):
            if practitioner.pk not in free_at(
                service, plan.visit_type, location, practitioner, start, now=now, staff=staff, window=window
            ):
                taken.append(start)
                continue
            end = start + service.duration
            try:
                with transaction.atomic():
                    visits.append(
                        Booking.objects.create(
                            course=course,
                            service=service,
                            visit_type=plan.visit_type,
                            location=location,
                            practitioner=practitioner,
                            start=start,
                            end=end,
                            blocked_until=end + service.buffer,
                            status=status,
                            # The form's one-time key on the first visit: a repeated form finds the course.
                            request_key=request_key if number == 0 else None,
                            # The reason for the visit (health details) stays on the first visit only.
                            reason=reason if number == 0 else "",
                            **patient_fields,
                        )
                    )
            except IntegrityError as exc:
                if sqlstate(exc) != EXCLUSION_VIOLATION:
                    raise  # not a taken time: an error to see, never reported as "taken"
                taken.append(start)  # a concurrent booking got past the check; the no-overlap constraint held
        if taken:
            raise CourseConflict(taken)  # leaving the atomic block undoes the course and every visit
        if origin is not None:
            origin.course = course
            origin.save(update_fields=["course", "updated"])
        _record_and_notify(course, origin, visits, by=by, status=status, now=now)
    return course, visits


def _record_and_notify(course, origin, visits, *, by, status, now):
    count = len(visits) + (origin is not None)
    offset = 1 if origin is not None else 0
    how = _("booked online") if by == PATIENT else _("booked by staff")
    events = [
        event(
            booking,
            by=by,
            from_status="",
            to_status=status,
            note=_("Visit %(n)d of %(count)d of a course of treatment, %(how)s")
            % {"n": number + offset, "count": count, "how": how},
        )
        for number, booking in enumerate(visits, 1)
    ]
    BookingEvent.objects.bulk_create(events)
    for booking in visits:
        reminders.plan(booking, now)
    if status == BookingStatus.CONFIRMED and visits:
        _send_intake_form(visits[0])  # the health questionnaire, if this is the patient's first visit of a kind
    everything = ([origin] if origin is not None else []) + visits
    if status == BookingStatus.CONFIRMED:
        rows = [emails.course_row(emails.Kind.COURSE_BOOKED, everything, calendar=emails.CALENDAR)]
    else:
        rows = [emails.course_row(emails.Kind.COURSE_REQUESTED, everything)]
    if by == PATIENT:
        rows.append(emails.course_row(emails.Kind.NEW_COURSE_REQUEST, everything))
    emails.queue_together(*rows)


def upcoming_in_scope(booking, scope, now=None):
    """The course's visits a cancellation with `scope` would cancel: active and not started yet."""
    now = now or timezone.now()
    visits = Booking.objects.active().filter(course_id=booking.course_id, start__gt=now)
    if scope == Scope.THIS:
        return visits.filter(pk=booking.pk)
    if scope == Scope.FOLLOWING:
        return visits.filter(start__gte=booking.start)
    return visits


def cancel_visits(booking, scope, *, by, note="", version=None, now=None):
    """Cancel one visit, it and the following ones, or the whole course; visits already past stay as they are.

    One visit is an ordinary cancellation (its own email and calendar update). Several are cancelled in one
    transaction with one email listing the cancelled dates and those still booked, its calendar file
    removing each cancelled visit's event. Returns the cancelled bookings.
    """
    if scope == Scope.THIS:
        return [change_status(booking, BookingStatus.CANCELLED, by=by, note=note, version=version, now=now)]
    return _cancel_several(booking, scope, by=by, note=note, version=version, now=now)


@retry_lost_races
def _cancel_several(booking, scope, *, by, note, version, now):
    now = now or timezone.now()
    with transaction.atomic():
        booking = _locked(booking)
        _check_version(booking, version)
        if booking.course_id is None:
            raise NotAllowed(_("This visit is not part of a course."))
        # Lock every visit of the course, in one order for everyone (no deadlock between two cancellations).
        visits = list(
            Booking.objects.select_for_update(of=("self",))
            .select_related("service", "practitioner", "location")
            .filter(course_id=booking.course_id)
            .order_by("start", "pk")
        )
        targets = {b.pk for b in upcoming_in_scope(booking, scope, now)}
        cancelled = [b for b in visits if b.pk in targets]
        if not cancelled:
            raise NotAllowed(_("No upcoming visits of this course are left to cancel."))
        note = note or _("Cancelled with %(scope)s") % {"scope": Scope(scope).label.lower()}
        history = []
        for visit in cancelled:
            history.append(event(visit, by=by, from_status=visit.status, to_status=BookingStatus.CANCELLED, note=note))
            visit.status = BookingStatus.CANCELLED
            visit.ics_sequence += 1
            visit.version += 1
            visit.save(update_fields=["status", "ics_sequence", "version", "updated"])
            reminders.plan(visit, now)
        BookingEvent.objects.bulk_create(history)
        still_booked = [b for b in visits if b.is_active and b.start > now]
        row = emails.course_row(
            emails.Kind.COURSE_CANCELLED, still_booked, cancelled=cancelled, calendar=emails.CALENDAR_CANCEL
        )
        row.save(force_insert=True)
    return cancelled
