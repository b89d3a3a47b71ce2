"""The date-of-birth check in front of a form link: a few tries, then locked until the clinic unlocks it.

The count of wrong tries lives on the form's row and every try is one conditional UPDATE (a try is spent only
while tries are left), so instances, workers and parallel requests all share one count and none can get a
fourth try. A form that opened for this browser is remembered in its session (sessions are in the database).
"""

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .models import IntakeForm

OPEN, WRONG, LOCKED = "open", "wrong", "locked"
SESSION_KEY = "intake_open_forms"


def limit():
    return settings.INTAKE_DOB_ATTEMPTS


def date_of_birth_on_file(form):
    """The date of birth the clinic holds for the patient, as an ISO string, or None."""
    patient = getattr(form.booking, "patient", None)
    dob = getattr(patient, "date_of_birth", None) if patient is not None else None
    if dob:
        return dob.isoformat()
    return crypto.decrypt_json(form.dob_on_first_use) if form.dob_on_first_use else None


@sensitive_variables("date_of_birth", "expected")
def check(form, date_of_birth):
    """OPEN (right date), WRONG (tries left) or LOCKED. Spends a try only while tries are left."""
    with transaction.atomic():
        spent = IntakeForm.objects.filter(pk=form.pk, locked_at__isnull=True, failed_dob_attempts__lt=limit()).update(
            failed_dob_attempts=F("failed_dob_attempts") + 1
        )
        if not spent:
            return LOCKED
        form.refresh_from_db(fields=["failed_dob_attempts", "dob_on_first_use"])
        given = date_of_birth.isoformat()
        expected = date_of_birth_on_file(form)
        if expected is None:
            # Nothing on file: the first opening of the link (sent only to the patient) records it.
            IntakeForm.objects.filter(pk=form.pk).update(dob_on_first_use=crypto.encrypt_json(given))
            expected = given
        if given == expected:
            IntakeForm.objects.filter(pk=form.pk).update(failed_dob_attempts=0)
            return OPEN
        locked = IntakeForm.objects.filter(pk=form.pk, locked_at__isnull=True, failed_dob_attempts__gte=limit()).update(
            locked_at=timezone.now()
        )
        return LOCKED if locked else WRONG


def tries_left(form):
    form.refresh_from_db(fields=["failed_dob_attempts", "locked_at"])
    return 0 if form.locked_at else max(limit() - form.failed_dob_attempts, 0)


def unlock(queryset):
    """Staff unlock: the patient gets their tries back. Returns how many forms were unlocked."""
    return queryset.filter(locked_at__isnull=False).update(locked_at=None, failed_dob_attempts=0)


def remember(request, form):
    opened = request.session.get(SESSION_KEY, [])
    if str(form.public_id) not in opened:
        request.session[SESSION_KEY] = [*opened, str(form.public_id)][-10:]


def is_open(request, form):
    return str(form.public_id) in request.session.get(SESSION_KEY, []) and not form.is_locked
