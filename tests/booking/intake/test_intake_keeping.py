"""Keeping health records: the date-of-birth gate's shared count, key rotation, the production key check,
retention (purge_bookings leaves kept records alone; a command lists those past retention)."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from booking.intake import crypto, gate
from booking.intake.models import IntakeForm, IntakeRecord
from booking.intake.retention import past_retention
from booking.models import Booking
from tests.booking.intake.conftest import DOB, MARKERS, answers, confirm, open_form

pytestmark = pytest.mark.django_db

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def wrong(client, form, dob="1990-01-01"):
    return client.post(form.patient_url(), {"date_of_birth": dob})


def test_the_date_of_birth_check_locks_after_three_wrong_tries_counted_across_two_instances(intake_clinic):
    form = confirm(intake_clinic)
    IntakeForm.objects.filter(pk=form.pk).update(dob_on_first_use=crypto.encrypt_json(DOB))
    # Two browsers through two "instances": the count lives in the shared database, not in either process.
    first, second = Client(), Client()
    assert "Tries left: 2" in wrong(first, form).content.decode()
    assert "Tries left: 1" in wrong(second, form).content.decode()
    locked = wrong(first, form)
    assert locked.status_code == 403 and "locked" in locked.content.decode()
    # Now even the right date opens nothing, in either browser, until the front desk unlocks it.
    assert second.post(form.patient_url(), {"date_of_birth": DOB}).status_code == 403
    assert Client().get(reverse("intake:fill", kwargs={"token": form.token()})).status_code == 302
    assert gate.unlock(IntakeForm.objects.filter(pk=form.pk)) == 1
    assert second.post(form.patient_url(), {"date_of_birth": DOB}).status_code == 302


def test_a_right_date_resets_the_count(intake_clinic):
    form = confirm(intake_clinic)
    IntakeForm.objects.filter(pk=form.pk).update(dob_on_first_use=crypto.encrypt_json(DOB))
    wrong(Client(), form)
    wrong(Client(), form)
    open_form(form)
    form.refresh_from_db()
    assert form.failed_dob_attempts == 0 and form.locked_at is None


def test_the_front_desk_unlocks_from_admin(intake_clinic):
    form = confirm(intake_clinic)
    IntakeForm.objects.filter(pk=form.pk).update(dob_on_first_use=crypto.encrypt_json(DOB))
    for _ in range(3):
        wrong(Client(), form)
    desk = Client()
    desk.force_login(intake_clinic.desk)
    desk.post(reverse("admin:intake_intakeform_changelist"), {"action": "unlock", "_selected_action": [form.pk]})
    form.refresh_from_db()
    assert form.locked_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")
def test_ten_simultaneous_wrong_dates_spend_exactly_three_tries(intake_clinic):
    form = confirm(intake_clinic)
    IntakeForm.objects.filter(pk=form.pk).update(dob_on_first_use=crypto.encrypt_json(DOB))
    from datetime import date

    outcomes, barrier = [], threading.Barrier(10)

    def attempt():
        try:
            barrier.wait()
            outcomes.append(gate.check(IntakeForm.objects.get(pk=form.pk), date(1990, 1, 1)))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    form.refresh_from_db()
    assert form.failed_dob_attempts == 3 and form.locked_at is not None
    assert outcomes.count(gate.WRONG) == 2 and outcomes.count(gate.LOCKED) == 8


def test_key_rotation_re_encrypts_with_the_new_key_and_the_old_key_reads_until_then(intake_clinic):
    with override_settings(HEALTH_DATA_KEYS=[KEY_A]):
        form = confirm(intake_clinic)
        open_form(form).post(reverse("intake:fill", kwargs={"token": form.token()}), answers())
        record = IntakeRecord.objects.get()
    with override_settings(HEALTH_DATA_KEYS=[KEY_B, KEY_A]):
        assert record.read_content()["answers"]["reason"] == MARKERS["reason"]  # old key still reads
        out = StringIO()
        call_command("rotate_health_key", stdout=out)
        assert "health records: 1 re-encrypted" in out.getvalue()
    record.refresh_from_db()
    with override_settings(HEALTH_DATA_KEYS=[KEY_B]):
        assert record.read_content()["answers"]["reason"] == MARKERS["reason"]
        assert gate.date_of_birth_on_file(IntakeForm.objects.get(pk=form.pk)) == DOB
    with override_settings(HEALTH_DATA_KEYS=[KEY_A]), pytest.raises(InvalidToken):
        record.read_content()


def test_production_without_a_key_fails_check_deploy_and_refuses_to_encrypt():
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(DEBUG=False, HEALTH_DATA_KEYS=[], HEALTH_DATA_DEV_KEY_ALLOWED=False):
        ids = [m.id for m in run_checks(include_deployment_checks=True)]
        assert "intake.E001" in ids
        with pytest.raises(ImproperlyConfigured, match="HEALTH_DATA_KEYS"):
            crypto.encrypt_json({"a": 1})
    with override_settings(DEBUG=False, HEALTH_DATA_KEYS=["not-a-key"]):
        assert "intake.E002" in [m.id for m in run_checks(include_deployment_checks=True)]
    with override_settings(DEBUG=False, HEALTH_DATA_KEYS=[KEY_A]):
        assert not [m for m in run_checks(include_deployment_checks=True) if m.id.startswith("intake.")]


def test_purge_bookings_keeps_a_patient_with_a_record_until_its_retention_ends(intake_clinic, submitted, settings):
    settings.HEALTH_RECORD_RETENTION_YEARS = 10
    # Twelve years later, the visit long past: only now may the booking be anonymised.
    booking = intake_clinic.booking
    Booking.objects.filter(pk=booking.pk).update(start=booking.start - timedelta(days=365 * 3))
    call_command("purge_bookings", "--older-than", "24", stdout=StringIO())
    booking.refresh_from_db()
    assert booking.anonymised_at is None and booking.patient_name == "Robin Ames"
    assert past_retention() == []
    Booking.objects.filter(pk=booking.pk).update(start=booking.start - timedelta(days=365 * 11))
    out = StringIO()
    call_command("health_records_past_retention", stdout=out)
    assert booking.reference in out.getvalue() and "Robin" not in out.getvalue()
    assert MARKERS["reason"] not in out.getvalue()
    call_command("purge_bookings", "--older-than", "24", stdout=StringIO())
    booking.refresh_from_db()
    assert booking.anonymised_at is not None
    assert IntakeRecord.objects.filter(form=submitted).exists()  # listed for review, never deleted by a purge
