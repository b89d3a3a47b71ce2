"""Sending a form when a visit needs one: confirming a patient's first visit of a kind (by staff, instantly
online, or booked by phone) queues the form and its email ("a form is ready", a link, nothing else) in the same
transaction as the confirmation. "The patient" is the booking's Patient record."""

from booking.notifications import emails

from .models import IntakeForm
from .questionnaires import KIND_FOR_TREATMENT, current


def kind_for(booking):
    treatment = booking.service.treatment
    return KIND_FOR_TREATMENT.get(treatment.slug) if treatment else None


def queue_form_if_needed(booking, *, email=True):
    """Create the form and queue its email if the patient has no completed or open form of this kind yet.

    Called with the booking row locked inside the confirming transaction, so one confirmation makes one form
    and one email however many instances or double taps. `email=False` (staff booked by phone and unticked
    the email) makes the form without an email: it waits on the patient's booking and visits pages.
    Returns the new form or None.
    """
    kind = kind_for(booking)
    if kind is None:
        return None
    earlier = IntakeForm.objects.for_patient_of(booking).filter(kind=kind).select_related("booking")
    for form in earlier:
        if form.is_complete or form.booking.is_active:
            return None  # already answered, or already waiting for another visit
    form = IntakeForm.objects.create(booking=booking, kind=kind, questionnaire_version=current(kind).key)
    if email:
        emails.queue(emails.Kind.INTAKE_FORM, booking)  # nothing is queued when there is no address on file
    return form
