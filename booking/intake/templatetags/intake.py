"""Template tags for intake forms, for templates outside this app:

* ``{% intake_form_url booking %}`` — the full link to the booking's form (the "form is ready" email).
* ``{% intake_forms_for booking as forms %}`` — the booking's forms for the patient's own pages (status, link).
* ``{% intake_badge booking %}`` — for a staff calendar block: "Form: complete" and any screening flag
  ("screening: anticoagulants"), never an answer. A view showing many blocks calls
  ``booking.intake.access.summaries_for(bookings)`` once and sets ``booking.intake_summary`` on each (constant
  queries), then ``record_flags_read``; without it, each block asks the database itself.
"""

from django import template
from django.conf import settings

from ..access import summaries_for
from ..models import IntakeForm
from ..questionnaires import flag_label

register = template.Library()


@register.simple_tag
def intake_form_url(booking):
    form = IntakeForm.objects.filter(booking=booking).order_by("-created").first()
    return settings.SITE_URL + form.patient_url() if form else ""


@register.simple_tag
def intake_forms_for(booking):
    return list(IntakeForm.objects.filter(booking=booking).order_by("-created")[:3])


@register.inclusion_tag("intake/includes/badge.html")
def intake_badge(booking):
    summary = getattr(booking, "intake_summary", None)
    if summary is None:
        summary = summaries_for([booking]).get(booking.pk)
    if not summary:
        return {"summary": None}
    status, label, flags = summary
    return {"status": status, "label": label, "flags": [flag_label(code) for code in flags], "summary": summary}
