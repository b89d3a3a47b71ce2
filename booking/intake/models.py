"""Intake forms and the health records they produce.

An IntakeForm is one questionnaire sent for a booking (a patient's first visit of a kind) and belongs to that
booking's Patient; the patient's
unfinished answers are kept on it as an encrypted draft. Each submission freezes an IntakeRecord: the answers,
a copy of the questions as asked, the form and consent versions, the signer, the time and the language. A
change later is a new record (number 2, 3…), earlier ones are kept unchanged. Answers, drafts and flags are
stored only encrypted (crypto.py); nothing in clear text names a health detail.
"""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from booking.models import AccessLog, Booking

from . import crypto
from .questionnaires import Kind, by_key


class FormStatus(models.TextChoices):
    SENT = "sent", _("Sent, not started")
    DRAFT = "draft", _("Started, not finished")
    COMPLETE = "complete", _("Complete")


class IntakeFormQuerySet(models.QuerySet):
    # A form belongs to the patient of the booking it was sent for (Booking.patient): merging two patient
    # records moves the bookings, and with them the forms and records.
    def of_patients(self, patient_ids):
        return self.filter(booking__patient_id__in=patient_ids)

    def for_patient_of(self, booking):
        return self.of_patients([booking.patient_id])

    def open(self):
        return self.exclude(status=FormStatus.COMPLETE)


class IntakeForm(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="intake_forms", editable=False)
    kind = models.CharField(_("form"), max_length=20, choices=Kind.CHOICES, editable=False)
    # The questionnaire version this form is filled in on (fixed when it is first opened; see questionnaire()).
    questionnaire_version = models.CharField(max_length=40, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=FormStatus.choices, default=FormStatus.SENT, editable=False
    )
    # Unfinished answers (encrypted JSON), saved by "Save and finish later"; emptied on submission.
    draft = models.TextField(blank=True, editable=False)
    # The date of birth the link is checked against when the clinic has none on file (encrypted; set by the
    # first correct opening of the link, which only the patient's mailbox receives).
    dob_on_first_use = models.TextField(blank=True, editable=False)
    # Wrong dates of birth in a row; at settings.INTAKE_DOB_ATTEMPTS the link locks until staff unlock it.
    failed_dob_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True, editable=False)
    created = models.DateTimeField(_("sent"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True, editable=False)

    objects = IntakeFormQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("intake form")
        verbose_name_plural = _("intake forms")

    def __str__(self):
        # No health detail and no name: __str__ reaches logs and admin's history.
        return f"{self.get_kind_display()} form for {self.booking.reference}"

    def questionnaire(self):
        return by_key(self.questionnaire_version)

    @property
    def is_complete(self):
        return self.status == FormStatus.COMPLETE

    @property
    def is_locked(self):
        return self.locked_at is not None

    def token(self):
        from .tokens import make_token

        return make_token(self)

    def patient_url(self):
        return reverse("intake:gate", kwargs={"token": self.token()})

    def staff_url(self):
        return reverse("intake:record", kwargs={"public_id": self.public_id})

    def latest_record(self):
        return self.records.order_by("-number").first()

    def read_draft(self):
        return crypto.decrypt_json(self.draft) or {}


class IntakeRecord(models.Model):
    """One submitted version of a form: frozen, never edited (a correction is the next number)."""

    form = models.ForeignKey(IntakeForm, on_delete=models.PROTECT, related_name="records", editable=False)
    number = models.PositiveSmallIntegerField(_("version"), editable=False)
    questionnaire_version = models.CharField(_("form version"), max_length=40, editable=False)
    treatment_consent_version = models.CharField(_("treatment consent version"), max_length=40, editable=False)
    information_consent_version = models.CharField(_("information consent version"), max_length=40, editable=False)
    # Encrypted JSON: {"answers": {...}, "asked": [sections as shown], "signer": "typed name"}.
    content = models.TextField(editable=False)
    # Encrypted JSON list of flag codes ("anticoagulants"…): what the front desk may see, without the rest.
    flags = models.TextField(editable=False)
    signed_at = models.DateTimeField(_("signed"), default=timezone.now, editable=False)
    language = models.CharField(_("language"), max_length=10, editable=False)

    class Meta:
        ordering = ["form", "-number"]
        verbose_name = _("health record")
        verbose_name_plural = _("health records")
        constraints = [models.UniqueConstraint(fields=["form", "number"], name="one_record_per_form_version")]
        permissions = [
            ("read_health_record", _("Can read the answers of patients they treat (or all, as privacy officer)"))
        ]

    def __str__(self):
        return f"Health record {self.form.public_id} v{self.number}"

    def read_content(self):
        return crypto.decrypt_json(self.content)

    def read_flags(self):
        return crypto.decrypt_json(self.flags) or []


class HealthRecordAccess(AccessLog):
    """Every read of health information: who, when, which record, what was shown (one row per page shown)."""

    class What(models.TextChoices):
        ANSWERS = "answers", _("Answers (practitioner's page)")
        PATIENT_COPY = "patient_copy", _("Patient's own copy")
        PATIENT_FORM = "patient_form", _("Patient's form (to finish or update)")
        FLAGS = "flags", _("Screening flags (calendar)")

    form = models.ForeignKey(IntakeForm, on_delete=models.PROTECT, null=True, blank=True, related_name="accesses")
    record = models.ForeignKey(IntakeRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # The staff username, or "patient" for the patient's own reads through their link.
    actor = models.CharField(_("who"), max_length=150)
    what = models.CharField(max_length=20, choices=What.choices)
    # For a bulk read (flags on a calendar): how many forms' flags were shown.
    rows = models.PositiveIntegerField(default=1)

    class Meta(AccessLog.Meta):
        verbose_name = _("health record access")
        verbose_name_plural = _("health record access log")

    def __str__(self):
        return f"{self.get_what_display()} by {self.actor}"


def retention_years():
    return settings.HEALTH_RECORD_RETENTION_YEARS
