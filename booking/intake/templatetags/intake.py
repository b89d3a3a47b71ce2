"""Template tags for intake forms, for templates outside this app:

* ``{% intake_form_url booking %}`` — the full link to the booking's form (the "form is ready" email).
* ``{% intake_forms_for booking as forms %}`` — the patient's forms for their own pages (status, link): those of
  the booking's Patient, or of a Patient, whose link still opens. A page listing several patients (/visits/)
  calls ``booking.intake.access.forms_by_patient(ids)`` once and sets ``intake_forms`` on what it passes.
* ``{% intake_badge booking %}`` — for a staff calendar block: "Form: complete" and any screening flag
  ("screening: anticoagulants"), never an answer. A view showing many blocks calls
  ``booking.intake.access.summaries_for(bookings)`` once and sets ``booking.intake_summary`` on each (constant
  queries), then ``record_flags_read``; without it, each block asks the database itself.
"""

from django import template
from django.conf import settings

from ..access import forms_by_patient, summaries_for
from ..models import IntakeForm
from ..questionnaires import flag_label

register = template.Library()


@register.simple_tag
def intake_form_url(booking):
    form = IntakeForm.objects.filter(booking=booking).order_by("-created").first()
    return settings.SITE_URL + form.patient_url() if form else ""


@register.simple_tag
def intake_forms_for(subject):
    prefetched = getattr(subject, "intake_forms_shown", None)
    if prefetched is not None:
        return prefetched
    patient_id = subject.patient_id if hasattr(subject, "patient_id") else subject.pk
    return forms_by_patient([patient_id]).get(patient_id, [])


@register.inclusion_tag("intake/includes/badge.html")
def intake_badge(booking):
    summary = getattr(booking, "intake_summary", None)
    if summary is None:
        summary = summaries_for([booking]).get(booking.pk)
    if not summary:
        return {"summary": None}
    status, label, flags = summary
    return {"status": status, "label": label, "flags": [flag_label(code) for code in flags], "summary": summary}
