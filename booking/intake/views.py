"""Intake pages: the patient's (date-of-birth check, the form, their copy) and the practitioner's printable page.

Every response here is personal: never_cache makes it ``private, no-store``. Every POST parameter is hidden from
error reports (sensitive_post_parameters with no names = all of them).
"""

from functools import wraps

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from . import access, gate, records
from .forms import DateOfBirthForm, QuestionnaireForm
from .models import HealthRecordAccess, IntakeForm
from .questionnaires import CONSENT_TEXTS, flag_label
from .tokens import read_token


def _invalid_link(request):
    return render(request, "booking/link_invalid.html", status=404)


def with_form(view):
    """The form the link names, for a booking whose link still works; else the same "link not valid" page."""

    @wraps(view)
    def wrapped(request, token):
        public_id = read_token(token)
        form = (
            IntakeForm.objects.select_related("booking", "booking__service").filter(public_id=public_id).first()
            if public_id
            else None
        )
        if form is None or form.booking.anonymised_at or form.booking.link_expired():
            return _invalid_link(request)
        return view(request, token, form)

    return wrapped


def with_open_form(view):
    """Only once this browser has confirmed the date of birth (else back to the check)."""

    @wraps(view)
    def wrapped(request, token, form):
        if not gate.is_open(request, form):
            return redirect("intake:gate", token=token)
        return view(request, token, form)

    return wrapped


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@with_form
def gate_view(request, token, form):
    if form.is_locked:
        return render(request, "intake/locked.html", {"form": form}, status=403)
    if gate.is_open(request, form):
        return _after_gate(form, token)
    dob_form = DateOfBirthForm(request.POST or None)
    if request.method == "POST" and dob_form.is_valid():
        outcome = gate.check(form, dob_form.cleaned_data["date_of_birth"])
        if outcome == gate.OPEN:
            gate.remember(request, form)
            return _after_gate(form, token)
        if outcome == gate.LOCKED:
            return render(request, "intake/locked.html", {"form": form}, status=403)
        dob_form.add_error(
            "date_of_birth",
            _("That date of birth does not match. Tries left: %(n)d.") % {"n": gate.tries_left(form)},
        )
    return render(request, "intake/gate.html", {"form": form, "dob_form": dob_form, "token": token})


def _after_gate(form, token):
    """A submitted form opens on the patient's copy (with "Change my answers"); any other on the form."""
    return redirect("intake:copy" if form.is_complete else "intake:fill", token=token)


@never_cache
@sensitive_post_parameters()
@sensitive_variables("questionnaire_form", "initial", "content")
@require_http_methods(["GET", "POST"])
@with_form
@with_open_form
def fill_view(request, token, form):
    latest = form.latest_record()
    # A form is answered (and later updated) on the questionnaire version it was sent with.
    questionnaire = form.questionnaire()
    if request.method == "POST":
        finishing = request.POST.get("action") != "save"
        questionnaire_form = QuestionnaireForm(questionnaire, request.POST, finishing=finishing)
        if not finishing:
            records.save_draft(form, questionnaire_form.draft_values())
            messages.success(
                request,
                _(
                    "Saved. You can close this page and finish later from the same link "
                    "(we will ask your date of birth again)."
                ),
            )
            return redirect("intake:fill", token=token)
        if questionnaire_form.is_valid():
            record, created = records.submit(
                form,
                questionnaire_form,
                based_on=_posted_number(request.POST),
                language=get_language() or "",
            )
            if created:
                messages.success(request, _("Thank you: your form is complete and has been sent to your practitioner."))
            else:
                messages.info(request, _("This form was already sent; nothing was sent twice."))
            return redirect("intake:copy", token=token)
    else:
        initial = form.read_draft()
        if not initial and latest is not None:
            content = latest.read_content()
            initial = {**content["answers"], "signer_name": ""}
        if initial:
            access.record_read(form, record=latest, what=HealthRecordAccess.What.PATIENT_FORM)
        questionnaire_form = QuestionnaireForm(questionnaire, initial=initial)
    context = {
        "form": form,
        "token": token,
        "qform": questionnaire_form,
        "questionnaire": questionnaire,
        "treatment_consent": CONSENT_TEXTS[questionnaire.treatment_consent],
        "information_consent": CONSENT_TEXTS[questionnaire.information_consent],
        "based_on": latest.number if latest else 0,
        "today": timezone.localdate(),
    }
    return render(request, "intake/fill.html", context, status=400 if questionnaire_form.errors else 200)


def _posted_number(data):
    value = str(data.get("based_on", ""))
    return int(value) if value.isdigit() and len(value) < 5 else -1


@never_cache
@require_GET
@with_form
@with_open_form
def copy_view(request, token, form):
    """The patient's own copy of what they submitted, as one printable page."""
    record = form.latest_record()
    if record is None:
        return redirect("intake:fill", token=token)
    access.record_read(form, record=record, what=HealthRecordAccess.What.PATIENT_COPY)
    return render(request, "intake/copy.html", _record_context(form, record))


@sensitive_variables("content")
def _record_context(form, record, records=None):
    content = record.read_content()
    flags = [flag_label(code) for code in record.read_flags()]
    return {
        "form": form,
        "record": record,
        "asked": content["asked"],
        "signer": content["signer"],
        "flags": flags,
        "treatment_consent": CONSENT_TEXTS.get(record.treatment_consent_version),
        "information_consent": CONSENT_TEXTS.get(record.information_consent_version),
        "records": records or [],
    }


@never_cache
@require_GET
def record_view(request, public_id):
    """The practitioner's page at the visit: flags first, then every answer, printable on one page.

    Anyone who may not read it (signed out, front desk, editor, another patient's practitioner) gets the same
    404 as for a record that does not exist, and no access row is written.
    """
    form = get_object_or_404(
        IntakeForm.objects.select_related("booking", "booking__practitioner", "booking__patient"), public_id=public_id
    )
    if not access.may_read(request.user, form):
        raise Http404
    all_records = list(form.records.order_by("-number"))
    if not all_records:
        raise Http404
    number = request.GET.get("version", "")
    record = next((r for r in all_records if str(r.number) == number), all_records[0])
    access.record_read(form, user=request.user, record=record)
    return render(request, "intake/record.html", _record_context(form, record, all_records))
