"""Who may read health information, and the record of every read.

The rule, in one place: a staff member may read a patient's answers when they hold the
``intake.read_health_record`` permission (the Practitioner and Privacy officer groups) AND either belong to the
"Privacy officer" group or are the practitioner of one of that patient's bookings. A superuser without the group
or a booking is refused like anyone else: health records follow the circle of care, not the account type.
The front desk sees only whether a form is complete and its screening flags (flags_for).

Every read that shows answers writes one HealthRecordAccess row, after the decision to show the page; a
refusal writes none.
"""

from django.db.models import Exists, OuterRef

from booking.models import Booking

from .models import FormStatus, HealthRecordAccess, IntakeForm, IntakeRecord, same_patient

PRIVACY_OFFICER = "Privacy officer"
READ_PERMISSION = "intake.read_health_record"
PATIENT = "patient"


def is_privacy_officer(user):
    return (
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(READ_PERMISSION)
        and user.groups.filter(name=PRIVACY_OFFICER).exists()
    )


def treats(user, form):
    """True when `user` is the practitioner of one of the patient's bookings."""
    return same_patient(form.booking).filter(practitioner__user=user).exists()


def may_read(user, form):
    if not (user.is_authenticated and user.is_active and user.is_staff and user.has_perm(READ_PERMISSION)):
        return False
    return is_privacy_officer(user) or treats(user, form)


def readable_forms(user):
    """The forms whose answers `user` may read (for lists: what to link to)."""
    if not (user.is_authenticated and user.is_active and user.is_staff and user.has_perm(READ_PERMISSION)):
        return IntakeForm.objects.none()
    if is_privacy_officer(user):
        return IntakeForm.objects.all()
    treated = Booking.objects.filter(
        practitioner__user=user,
        email_key=OuterRef("booking__email_key"),
        patient_name__iexact=OuterRef("booking__patient_name"),
    )
    return IntakeForm.objects.filter(Exists(treated))


def record_read(form, *, user=None, record=None, what=HealthRecordAccess.What.ANSWERS):
    HealthRecordAccess.objects.create(
        form=form,
        record=record,
        user=user,
        actor=user.get_username() if user is not None else PATIENT,
        what=what,
    )


def record_flags_read(user, rows):
    """One row for a page that showed several forms' flags (the calendar): who, when, how many."""
    if rows:
        HealthRecordAccess.objects.create(
            user=user, actor=user.get_username(), what=HealthRecordAccess.What.FLAGS, rows=rows
        )


def summaries_for(bookings):
    """{booking id: (status label, [flag codes])} for the bookings' intake forms, in two queries however many.

    What the front desk may know: whether the form is complete, and the screening flags of its latest record.
    """
    booking_ids = [b.pk for b in bookings]
    forms = list(IntakeForm.objects.filter(booking_id__in=booking_ids).order_by("booking_id", "-created"))
    latest = {}
    for form in forms:
        latest.setdefault(form.booking_id, form)
    complete = [f.pk for f in latest.values() if f.status == FormStatus.COMPLETE]
    flags = {}
    for record in IntakeRecord.objects.filter(form_id__in=complete).order_by("form_id", "-number"):
        if record.form_id not in flags:
            flags[record.form_id] = record.read_flags()
    return {
        booking_id: (form.status, form.get_status_display(), flags.get(form.pk, []))
        for booking_id, form in latest.items()
    }
