"""Who may read health information, and the record of every read.

The rule, in one place: a staff member may read a patient's answers when they hold the
``intake.read_health_record`` permission (the Practitioner and Privacy officer groups) AND either belong to the
"Privacy officer" group or are the practitioner of one of that patient's bookings (the patient is the
Patient record of the booking the form was sent for: Booking.patient). A superuser without the group
or a booking is refused like anyone else: health records follow the circle of care, not the account type.
The front desk sees only whether a form is complete and its screening flags (flags_for).

Every read that shows answers writes one HealthRecordAccess row, after the decision to show the page; a
refusal writes none.
"""

from django.db.models import Exists, F, OuterRef

from booking.models import Booking

from .models import HealthRecordAccess, IntakeForm, IntakeRecord

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
    return Booking.objects.filter(patient_id=form.booking.patient_id, practitioner__user=user).exists()


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
    treated = Booking.objects.filter(practitioner__user=user, patient_id=OuterRef("booking__patient_id"))
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
    """{booking id: (status, status label, [flag codes])} for the bookings' patients, in two queries however many.

    What the front desk may know of a patient's intake forms, shown on each of their bookings: "complete" when
    a form of theirs is complete (else the newest form's status), and the screening flags of the latest record
    of each complete form. A booking whose patient has no form is left out.
    """
    patient_ids = {b.patient_id for b in bookings}
    forms = IntakeForm.objects.of_patients(patient_ids).annotate(patient=F("booking__patient_id")).order_by("-created")
    shown = {}  # patient id -> the form whose status the blocks show
    complete = {}  # complete form id -> patient id
    for form in forms:
        if form.is_complete:
            complete[form.pk] = form.patient
            if not shown.get(form.patient, form).is_complete:
                shown[form.patient] = form
        shown.setdefault(form.patient, form)
    flags = {}
    seen = set()
    for record in IntakeRecord.objects.filter(form_id__in=complete).order_by("form_id", "-number"):
        if record.form_id not in seen:  # the latest record of each form
            seen.add(record.form_id)
            patient_flags = flags.setdefault(complete[record.form_id], [])
            patient_flags += [code for code in record.read_flags() if code not in patient_flags]
    return {
        b.pk: (form.status, form.get_status_display(), flags.get(b.patient_id, []))
        for b in bookings
        if (form := shown.get(b.patient_id)) is not None
    }


def forms_by_patient(patient_ids):
    """{patient id: [forms]} for the patients' own pages, in one query: the newest form of each kind whose
    link still opens (its booking neither anonymised nor past the link's life). Status and link only."""
    forms = (
        IntakeForm.objects.of_patients(patient_ids)
        .filter(booking__anonymised_at__isnull=True)
        .select_related("booking")
        .order_by("-created")
    )
    out = {}
    for form in forms:
        shown = out.setdefault(form.booking.patient_id, [])
        if all(f.kind != form.kind for f in shown) and not form.booking.link_expired():
            shown.append(form)
    return out


def forms_on_patient_page(user, patient):
    """The patient's forms as their admin page shows them: kind, "complete" or "ready", and the link to the
    answers only for someone who may read them (reading there is recorded; this page shows no answer)."""
    forms = list(IntakeForm.objects.of_patients([patient.pk]).select_related("booking").order_by("-created"))
    readable = bool(forms) and may_read(user, forms[0])  # one patient: the same answer for each form
    return [
        {
            "kind": form.get_kind_display(),
            "complete": form.is_complete,
            "read_url": form.staff_url() if readable and form.is_complete else "",
        }
        for form in forms
    ]
