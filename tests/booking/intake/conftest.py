"""A small clinic with an acupuncture first visit, its practitioner and every kind of staff user."""

from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from booking import workflow
from booking.intake.models import IntakeForm
from booking.models import BookingStatus
from tests.factories import (
    FRONT_DESK_HOURS,
    TreatmentFactory,
    local,
    make_booking,
    make_clinic,
    make_practitioner,
    make_service,
    make_staff,
)

DOB = "1984-03-27"
# Answers nobody would type by chance: a search for them anywhere must come back empty.
MARKERS = {
    "reason": "Spasm-QUOKKA-4471 in the left trapezius",
    "medications": "Takes warfarin-ZYXWV-8812 daily",
    "conditions": "Asthma-PLOVER-5519 since childhood",
    "goals": "Lift-GRANDCHILD-6633 again",
    "screening_details": "Fainted-MARMOT-2208 at a blood test",
}


def answers(**overrides):
    data = {
        "full_name": "Robin Ames",
        "phone": "416 555 0142",
        "address": "",
        "emergency_name": "Kit Ames",
        "emergency_relationship": "Sibling",
        "emergency_phone": "416 555 0143",
        "doctor_name": "",
        "doctor_phone": "",
        "reason": MARKERS["reason"],
        "since_when": "Two weeks",
        "conditions": MARKERS["conditions"],
        "medications": MARKERS["medications"],
        "allergies": "",
        "anticoagulants": "yes",
        "bleeding": "no",
        "implant": "no",
        "fainting": "yes",
        "pregnancy": "no",
        "screening_details": MARKERS["screening_details"],
        "goals": MARKERS["goals"],
        "signer_name": "Robin Ames",
        "consent_treatment": "on",
        "consent_information": "on",
        "based_on": "0",
        "action": "submit",
    }
    data.update(overrides)
    return data


@pytest.fixture
def intake_clinic(db):
    profile, location = make_clinic()
    pat_user = make_staff("pat", "Practitioner")
    sam_user = make_staff("sam", "Practitioner")
    pat = make_practitioner("Pat Lee", location=location, user=pat_user, hours=FRONT_DESK_HOURS)
    sam = make_practitioner("Sam Roy", location=location, user=sam_user, hours=FRONT_DESK_HOURS)
    acupuncture = TreatmentFactory(slug="acupuncture", name="Acupuncture")
    service = make_service([pat, sam], slug="acupuncture-first-visit", treatment=acupuncture)
    desk = make_staff("desk", "Front desk")
    booking = make_booking(
        pat, service, local(3, 10), location=location, patient_name="Robin Ames", email="robin@example.com"
    )
    other = make_booking(sam, service, local(3, 10), location=location, patient_name="Lee Other", email="lee@x.example")
    return SimpleNamespace(
        profile=profile,
        location=location,
        pat=pat,
        sam=sam,
        pat_user=pat_user,
        sam_user=sam_user,
        service=service,
        desk=desk,
        editor=make_staff("editor", "Editor"),
        officer=make_staff("officer", "Privacy officer"),
        booking=booking,
        other=other,
    )


def confirm(clinic, booking=None):
    workflow.change_status(booking or clinic.booking, BookingStatus.CONFIRMED, by=clinic.desk)
    return IntakeForm.objects.filter(booking=booking or clinic.booking).first()


def open_form(form, client=None, dob=DOB):
    """A browser that has passed the date-of-birth check for `form`."""
    client = client or Client()
    response = client.post(form.patient_url(), {"date_of_birth": dob})
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def submitted(intake_clinic):
    """A confirmed first visit whose form the patient has filled in and signed."""
    form = confirm(intake_clinic)
    client = open_form(form)
    response = client.post(reverse("intake:fill", kwargs={"token": form.token()}), answers())
    assert response.status_code == 302, response.content.decode()[:3000]
    form.refresh_from_db()
    return form
