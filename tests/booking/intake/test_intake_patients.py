"""Intake forms belong to the patient record (Booking.patient): who may read, the date-of-birth check, what
purge_bookings keeps, forms for bookings taken by phone, the family's forms on /visits/, the patient's admin
page, and the calendar's badges in a constant number of queries."""

import uuid
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking.forms import encode_slot
from booking.intake import gate
from booking.intake.models import HealthRecordAccess, IntakeForm
from booking.models import Booking, BookingStatus, OutboxEmail
from tests.booking.intake.conftest import DOB, MARKERS, answers, confirm, open_form
from tests.booking.test_visits import sign_in
from tests.factories import PatientFactory, local, make_booking

pytestmark = pytest.mark.django_db
MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("America/Toronto"))


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def book(clinic, practitioner, start, patient, **fields):
    return make_booking(practitioner, clinic.service, start, location=clinic.location, patient=patient, **fields)


def fill(form, dob=DOB):
    response = open_form(form, dob=dob).post(reverse("intake:fill", kwargs={"token": form.token()}), answers())
    assert response.status_code == 302
    form.refresh_from_db()
    return form


# --- the patient is Booking.patient -------------------------------------------------------------------


def test_a_namesake_sharing_the_email_is_another_patient_whose_practitioner_may_not_read(intake_clinic, submitted):
    robin = intake_clinic.booking.patient
    namesake = PatientFactory(name=robin.name, email=robin.email)  # not merged: another record
    book(intake_clinic, intake_clinic.sam, local(5, 10), namesake, patient_name=robin.name, email=robin.email)
    response = signed_in(intake_clinic.sam_user).get(submitted.staff_url())
    assert response.status_code == 404
    assert not HealthRecordAccess.objects.filter(what=HealthRecordAccess.What.ANSWERS).exists()


def test_a_practitioner_of_any_booking_of_the_patient_reads_it_whatever_that_booking_says(intake_clinic, submitted):
    robin = intake_clinic.booking.patient
    # Booked later under another address and a nickname (details as given), still Robin's record.
    book(intake_clinic, intake_clinic.sam, local(9, 10), robin, patient_name="Rob A.", email="rob@work.example")
    response = signed_in(intake_clinic.sam_user).get(submitted.staff_url())
    assert response.status_code == 200 and MARKERS["reason"] in response.content.decode()
    assert HealthRecordAccess.objects.filter(what=HealthRecordAccess.What.ANSWERS, user=intake_clinic.sam_user).count()


def test_a_second_booking_of_the_patient_gets_no_second_form_and_a_family_member_gets_their_own(
    intake_clinic, submitted
):
    robin = intake_clinic.booking.patient
    again = book(intake_clinic, intake_clinic.pat, local(10, 10), robin)
    assert confirm(intake_clinic, again) is None
    sibling = PatientFactory(name="Kit Ames", email=robin.email)
    theirs = book(intake_clinic, intake_clinic.pat, local(11, 10), sibling, patient_name="Kit Ames", email=robin.email)
    form = confirm(intake_clinic, theirs)
    assert form is not None and form.booking.patient == sibling
    assert IntakeForm.objects.count() == 2


def test_the_date_of_birth_on_file_is_the_one_checked(intake_clinic):
    patient = intake_clinic.booking.patient
    patient.date_of_birth = date(1990, 5, 17)
    patient.save()
    form = confirm(intake_clinic)
    # Without a date on file the first opening would set it; with one, another date is simply wrong.
    assert gate.check(form, date(1984, 3, 27)) == gate.WRONG
    form.refresh_from_db()
    assert form.dob_on_first_use == ""
    assert gate.check(form, date(1990, 5, 17)) == gate.OPEN


def test_without_a_date_on_file_the_first_opening_sets_it(intake_clinic):
    form = confirm(intake_clinic)
    assert gate.check(form, date(1984, 3, 27)) == gate.OPEN
    assert gate.check(form, date(1990, 5, 17)) == gate.WRONG


def test_purge_keeps_exactly_the_patient_whose_record_is_kept_not_the_family_sharing_the_email(
    intake_clinic, submitted, settings
):
    settings.HEALTH_RECORD_RETENTION_YEARS = 10
    robin = intake_clinic.booking.patient
    sibling = PatientFactory(name="Kit Ames", email=robin.email)
    old = book(intake_clinic, intake_clinic.pat, local(-900, 10), sibling, patient_name="Kit Ames", email=robin.email)
    old.status = BookingStatus.COMPLETED
    old.save()
    Booking.objects.filter(pk=intake_clinic.booking.pk).update(start=local(-800, 10), end=local(-800, 11))
    call_command("purge_bookings", "--older-than", "24", stdout=StringIO())
    old.refresh_from_db()
    sibling.refresh_from_db()
    robin.refresh_from_db()
    assert old.anonymised_at is not None and sibling.anonymised_at is not None and sibling.email == ""
    assert robin.anonymised_at is None and robin.name == "Robin Ames"
    assert Booking.objects.get(pk=intake_clinic.booking.pk).anonymised_at is None


# --- bookings taken by phone --------------------------------------------------------------------------


def phone_post(clinic, start, **extra):
    data = {
        "request_key": uuid.uuid4().hex,
        "service": clinic.service.pk,
        "visit_type": "in_clinic",
        "location": clinic.location.pk,
        "practitioner": clinic.pat.pk,
        "slot": encode_slot(start),
        "name": "Casey Caller",
        "phone": "416 555 0150",
        "email": "casey@example.com",
        "contact_preference": "call",
        "email_patient": "on",
    }
    data.update(extra)
    return data


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY_9, tick=False):
        yield


def test_a_first_visit_booked_by_phone_sends_the_form_once(monday, intake_clinic, deliver):
    desk = signed_in(intake_clinic.desk)
    data = phone_post(intake_clinic, local(1, 9))
    assert desk.post(reverse("admin:booking_booking_add"), data).status_code == 302
    assert desk.post(reverse("admin:booking_booking_add"), data).status_code in (200, 302)  # the same form again
    booking = Booking.objects.get(patient__name="Casey Caller")
    form = IntakeForm.objects.get()
    assert form.booking == booking and booking.status == BookingStatus.CONFIRMED
    sent = [m for m in deliver() if "casey@example.com" in m.to]
    ready = [m for m in sent if "A form is ready" in m.subject]
    assert len(ready) == 1 and "/forms/" in ready[0].body
    assert len(sent) == 2  # the confirmation and the form, once each


def test_a_phone_booking_without_email_makes_the_form_but_sends_nothing(monday, intake_clinic):
    desk = signed_in(intake_clinic.desk)
    desk.post(reverse("admin:booking_booking_add"), phone_post(intake_clinic, local(1, 9), email_patient=""))
    assert IntakeForm.objects.count() == 1
    assert not OutboxEmail.objects.filter(kind__in=["confirmation", "intake_form"]).exists()


def test_a_returning_patient_booked_by_phone_gets_no_second_form(monday, intake_clinic, submitted):
    robin = intake_clinic.booking.patient
    desk = signed_in(intake_clinic.desk)
    data = phone_post(intake_clinic, local(1, 9), patient=robin.pk, name="", phone="", email="")
    assert desk.post(reverse("admin:booking_booking_add"), data).status_code == 302
    assert IntakeForm.objects.count() == 1


# --- the patient's pages ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("run_on_commit")
def test_visits_shows_each_family_members_form_ready_or_complete(intake_clinic, submitted, deliver):
    robin = intake_clinic.booking.patient
    sibling = PatientFactory(name="Kit Ames", email=robin.email)
    theirs = book(intake_clinic, intake_clinic.sam, local(4, 10), sibling, patient_name="Kit Ames", email=robin.email)
    assert confirm(intake_clinic, theirs) is not None
    confirm(intake_clinic, intake_clinic.other)  # another family's form
    client = sign_in(Client(), robin.email, deliver)
    page = client.get("/visits/").content.decode()
    kit, robin = page[page.index("<h2", page.index("Kit Ames") - 80) :].split("Robin Ames</h2>", 1)
    assert "A form is ready" in kit and "Fill in my form" in kit and "See my form" not in kit
    assert "Complete — thank you" in robin and "See my form" in robin and "Fill in my form" not in robin
    assert page.count('href="/forms/') == 2
    assert all(marker not in page for marker in MARKERS.values())
    # Each link is the family member's own form.
    links = [part.split('"', 1)[0] for part in page.split('href="')[1:] if part.startswith("/forms/")]
    assert client.get(links[0]).status_code == 200
    assert gate.date_of_birth_on_file(IntakeForm.objects.get(booking=theirs)) is None


def test_the_patients_admin_page_says_complete_and_links_only_for_who_may_read(intake_clinic, submitted):
    url = reverse("admin:booking_patient_change", args=[intake_clinic.booking.patient_id])
    page = signed_in(intake_clinic.pat_user).get(url).content.decode()
    assert "Intake form: complete" in page and submitted.staff_url() in page
    desk_page = signed_in(intake_clinic.desk).get(url).content.decode()
    assert "Intake form: complete" in desk_page and submitted.staff_url() not in desk_page
    for html in (page, desk_page):
        assert all(marker not in html for marker in MARKERS.values())
    assert not HealthRecordAccess.objects.filter(what=HealthRecordAccess.What.ANSWERS).exists()  # no read yet
    other = reverse("admin:booking_patient_change", args=[intake_clinic.other.patient_id])
    assert "Intake form: none" in signed_in(intake_clinic.desk).get(other).content.decode()
    confirm(intake_clinic, intake_clinic.other)
    assert "Intake form: ready" in signed_in(intake_clinic.desk).get(other).content.decode()


# --- the calendar's badges --------------------------------------------------------------------------------


def test_schedule_badges_cost_the_same_queries_for_2_and_20_bookings(intake_clinic, submitted):
    day = local(3, 0).date()
    url = reverse("admin:booking_booking_schedule_day") + f"?date={day}"
    desk = signed_in(intake_clinic.desk)
    desk.get(url)

    def shown():
        with CaptureQueriesContext(connection) as captured:
            page = desk.get(url).content.decode()
        return len(captured), page.count("screening: anticoagulants"), page.count("Form: ")

    two = shown()
    assert two[1:] == (1, 1)  # Robin's block: the form's state and the flag (Lee has no form)
    practitioners = [intake_clinic.pat, intake_clinic.sam]
    for n in range(18):
        patient = PatientFactory(name=f"Patient {n}")
        booking = book(intake_clinic, practitioners[n % 2], local(3, 11 + n // 2), patient)
        form = confirm(intake_clinic, booking)
        if n % 3 == 0:
            fill(form, dob=f"19{50 + n}-01-01")
    twenty = shown()
    assert twenty[0] == two[0]
    assert twenty[1:] == (1 + 6, 19)
    assert HealthRecordAccess.objects.filter(what=HealthRecordAccess.What.FLAGS).count() == 3
