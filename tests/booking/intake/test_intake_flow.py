"""The patient's side: the form is sent once when a first visit is confirmed, opens after the date of birth,
can be saved and finished later, and freezes a record when signed; changes are new versions."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from booking.intake import crypto, questionnaires
from booking.intake.models import FormStatus, IntakeForm, IntakeRecord
from booking.models import OutboxEmail
from booking.notifications import emails, outbox
from tests.booking.intake.conftest import DOB, MARKERS, answers, confirm, open_form

pytestmark = pytest.mark.django_db


def fill_url(form):
    return reverse("intake:fill", kwargs={"token": form.token()})


def test_confirming_a_first_visit_sends_one_form_whose_email_says_only_that_a_form_is_ready(intake_clinic):
    form = confirm(intake_clinic)
    assert form.kind == "acupuncture" and form.status == FormStatus.SENT
    assert OutboxEmail.objects.filter(kind=emails.Kind.INTAKE_FORM).count() == 1
    outbox.drain()
    (message,) = [m for m in mail.outbox if "form is ready" in m.subject]
    assert message.to == ["robin@example.com"]
    assert form.patient_url() in message.body
    assert "date of birth" in message.body
    for word in ("anticoagul", "pregnan", "blood", "seizure", "medication"):
        assert word not in message.body.lower()


def test_a_patient_with_a_form_gets_no_second_one_for_another_visit(intake_clinic):
    confirm(intake_clinic)
    second = intake_clinic.booking.__class__.objects.get(pk=intake_clinic.booking.pk)
    second.pk = None
    second.reference = "ZZZ-222"
    second.request_key = None
    second.status = "requested"
    from tests.factories import local

    second.start, second.end, second.blocked_until = local(5, 10), local(5, 11), local(5, 11)
    second.save()
    confirm(intake_clinic, second)
    assert IntakeForm.objects.count() == 1
    assert OutboxEmail.objects.filter(kind=emails.Kind.INTAKE_FORM).count() == 1


def test_a_service_without_a_questionnaire_sends_no_form(intake_clinic):
    intake_clinic.service.treatment = None
    intake_clinic.service.save()
    assert confirm(intake_clinic) is None
    assert not OutboxEmail.objects.filter(kind=emails.Kind.INTAKE_FORM).exists()


def test_the_booking_page_shows_the_form_and_then_that_it_is_complete(intake_clinic):
    form = confirm(intake_clinic)
    manage = reverse("booking:manage", kwargs={"token": intake_clinic.booking.manage_token()})
    page = Client().get(manage).content.decode()
    assert "A form is ready" in page and form.patient_url() in page
    client = open_form(form)
    client.post(fill_url(form), answers())
    page = Client().get(manage).content.decode()
    assert "Complete" in page and MARKERS["reason"] not in page


def test_the_link_asks_the_date_of_birth_before_showing_anything(intake_clinic):
    form = confirm(intake_clinic)
    client = Client()
    assert client.get(fill_url(form)).status_code == 302  # back to the check
    page = client.get(form.patient_url())
    assert page.status_code == 200 and "date of birth" in page.content.decode()
    assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]


def test_a_forged_link_is_refused_like_an_unknown_one(intake_clinic):
    confirm(intake_clinic)
    response = Client().get(reverse("intake:gate", kwargs={"token": "not-a-real-token"}))
    assert response.status_code == 404


def test_signing_freezes_a_record_with_versions_signer_time_and_language(intake_clinic):
    form = confirm(intake_clinic)
    client = open_form(form)
    response = client.post(fill_url(form), answers())
    assert response.status_code == 302 and response["Location"].endswith("/copy/")
    record = IntakeRecord.objects.get(form=form)
    assert record.number == 1
    assert record.questionnaire_version == "acupuncture-1"
    assert record.treatment_consent_version == "treatment-acupuncture-1"
    assert record.information_consent_version == "information-1"
    assert record.language.startswith("en")
    content = record.read_content()
    assert content["signer"] == "Robin Ames" and content["answers"]["reason"] == MARKERS["reason"]
    assert record.read_flags() == ["anticoagulants", "fainting"]
    form.refresh_from_db()
    assert form.status == FormStatus.COMPLETE and form.draft == ""
    copy = client.get(response["Location"])
    assert copy.status_code == 200 and MARKERS["reason"] in copy.content.decode()
    assert "no-store" in copy["Cache-Control"]


def test_missing_answers_and_consents_are_named_next_to_their_fields_and_nothing_is_saved(intake_clinic):
    form = confirm(intake_clinic)
    client = open_form(form)
    response = client.post(fill_url(form), answers(consent_treatment="", anticoagulants="", signer_name=""))
    page = response.content.decode()
    assert response.status_code == 400
    assert "Tick the box to agree to treatment." in page
    assert "Type your full name to sign the form." in page
    assert "Choose an answer." in page
    assert not IntakeRecord.objects.exists()


def test_save_and_finish_later_keeps_an_encrypted_draft(intake_clinic):
    form = confirm(intake_clinic)
    client = open_form(form)
    response = client.post(fill_url(form), {"action": "save", "reason": MARKERS["reason"]})
    assert response.status_code == 302
    form.refresh_from_db()
    assert form.status == FormStatus.DRAFT and MARKERS["reason"] not in form.draft
    # Later, in another browser: the date of birth again, then the draft is back.
    later = open_form(form, Client())
    assert MARKERS["reason"] in later.get(fill_url(form)).content.decode()


def test_a_double_tap_on_sign_saves_one_record_and_a_later_change_is_a_new_version(intake_clinic):
    form = confirm(intake_clinic)
    client = open_form(form)
    client.post(fill_url(form), answers())
    client.post(fill_url(form), answers())  # the same page sent again
    assert IntakeRecord.objects.filter(form=form).count() == 1
    client.post(fill_url(form), answers(based_on="1", medications="None now"))
    first, second = IntakeRecord.objects.filter(form=form).order_by("number")
    assert first.read_content()["answers"]["medications"] == MARKERS["medications"]
    assert second.number == 2 and second.read_content()["answers"]["medications"] == "None now"


def test_a_new_questionnaire_version_leaves_earlier_answers_as_they_were(intake_clinic, submitted, monkeypatch):
    old = questionnaires.current("acupuncture")
    renamed = questionnaires.Section(
        "Your medicines (new wording)",
        (questionnaires.Question("medications", "Which medicines do you take today?", questionnaires.LONG_TEXT),),
    )
    new = questionnaires.Questionnaire(
        "acupuncture", 2, "New acupuncture form", (renamed,), "treatment-acupuncture-1", "information-1"
    )
    monkeypatch.setitem(questionnaires.QUESTIONNAIRES, "acupuncture", [old, new])
    record = IntakeRecord.objects.get(form=submitted)
    content = record.read_content()
    assert record.questionnaire_version == "acupuncture-1"
    asked = {item["name"]: item for section in content["asked"] for item in section["items"]}
    assert asked["medications"]["label"] == str(old.questions["medications"].label)
    assert asked["medications"]["answer"] == MARKERS["medications"]
    # The practitioner's page shows the questions as they were asked.
    client = Client()
    client.force_login(intake_clinic.pat_user)
    page = client.get(submitted.staff_url()).content.decode()
    assert "Which medicines do you take today?" not in page and MARKERS["medications"] in page
    # A form sent from now on uses the new version.
    assert questionnaires.current("acupuncture").key == "acupuncture-2"


def test_answers_are_never_stored_in_clear_anywhere_in_the_database(intake_clinic, submitted):
    from django.db import connection

    draft_form = confirm(intake_clinic, intake_clinic.other)
    open_form(draft_form).post(fill_url(draft_form), {"action": "save", "goals": MARKERS["goals"]})
    with connection.cursor() as cursor:
        cursor.execute("SELECT content, flags FROM intake_intakerecord")
        (content, flags), *_ = cursor.fetchall()
        assert content.startswith("gAAAA") and flags.startswith("gAAAA")  # Fernet tokens
        dump = []
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608  (table names from the database itself)
            dump.append(repr(cursor.fetchall()))
    dump = "\n".join(dump)
    for marker in MARKERS.values():
        assert marker not in dump
    assert DOB not in dump  # the date of birth recorded at the first opening is encrypted too
    assert crypto.decrypt_json(content)["answers"]["goals"] == MARKERS["goals"]
