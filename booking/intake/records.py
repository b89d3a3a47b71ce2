"""Saving a patient's answers: a draft (encrypted, unvalidated) or a submitted, frozen record."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import crypto
from .models import FormStatus, IntakeForm, IntakeRecord


@sensitive_variables("values")
def save_draft(form, values):
    with transaction.atomic():
        locked = IntakeForm.objects.select_for_update().get(pk=form.pk)
        locked.draft = crypto.encrypt_json(values)
        if locked.status == FormStatus.SENT:
            locked.status = FormStatus.DRAFT
        locked.save(update_fields=["draft", "status"])
    return locked


@sensitive_variables("questionnaire_form", "content")
def submit(form, questionnaire_form, *, based_on, language):
    """Freeze the answers as the form's next record; returns (record, created).

    `based_on` is the number of the latest record the page was made from: a double tap or a second tab that
    sends the same page again finds a newer record and gets it back instead of writing another.
    """
    questionnaire = questionnaire_form.questionnaire
    with transaction.atomic():
        locked = IntakeForm.objects.select_for_update().get(pk=form.pk)
        latest = locked.records.aggregate(n=Max("number"))["n"] or 0
        if latest != based_on:
            return locked.records.get(number=latest), False
        content = {
            "answers": questionnaire_form.answers(),
            "asked": questionnaire_form.asked(),
            "signer": questionnaire_form.cleaned_data["signer_name"],
            "consents": {"treatment": True, "information": True},
        }
        record = IntakeRecord.objects.create(
            form=locked,
            number=latest + 1,
            questionnaire_version=questionnaire.key,
            treatment_consent_version=questionnaire.treatment_consent,
            information_consent_version=questionnaire.information_consent,
            content=crypto.encrypt_json(content),
            flags=crypto.encrypt_json(questionnaire_form.flags()),
            signed_at=timezone.now(),
            language=language[:10],
        )
        locked.draft = ""
        locked.status = FormStatus.COMPLETE
        locked.completed_at = locked.completed_at or record.signed_at
        locked.save(update_fields=["draft", "status", "completed_at"])
    return record, True
