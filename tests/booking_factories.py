"""Small builders for booking tests: a clinic whose practitioners work every day, so free slots
always exist whatever day the tests run."""

import time as time_module
import uuid
from datetime import time

from django.core import signing
from django.utils import timezone

from booking.availability import slots_for
from booking.models import Booking, Service, VisitType, WorkingHours
from booking.workflow import PatientDetails
from clinic.models import ClinicProfile, Location, Practitioner


def make_clinic(*, confirm_instantly=False):
    profile = ClinicProfile.objects.create(
        name="Test Clinic", phone="(416) 555-0100", email="desk@clinic.example", confirm_instantly=confirm_instantly
    )
    location = Location.objects.create(name="Main", slug="main", street="1 Test St", city="Toronto")
    return profile, location


def make_practitioner(slug="pat", name="Pat Lee", *, location=None, telehealth=True, video=""):
    p = Practitioner.objects.create(
        name=name, slug=slug, title="Physiotherapist", credentials="PT", video_room_url=video
    )
    for weekday in range(7):
        if location is not None:
            WorkingHours.objects.create(practitioner=p, weekday=weekday, start=time(9), end=time(17), location=location)
        if telehealth:
            WorkingHours.objects.create(practitioner=p, weekday=weekday, start=time(18), end=time(20))
    return p


def make_service(practitioners, slug="physio-60", *, minutes=60, buffer=0, in_clinic=True, telehealth=True):
    s = Service.objects.create(
        name="Physio assessment",
        slug=slug,
        duration_minutes=minutes,
        buffer_minutes=buffer,
        in_clinic=in_clinic,
        telehealth=telehealth,
        price_text="$100",
    )
    s.practitioners.set(practitioners)
    return s


def free_starts(service, visit_type=VisitType.IN_CLINIC, location=None, practitioner=None):
    return list(slots_for(service, visit_type, location, practitioner).keys())


def patient(**overrides):
    data = {
        "name": "Alex Morgan",
        "email": "alex@example.com",
        "phone": "+14165550123",
        "phone_as_typed": "416 555 0123",
        "contact_preference": "email",
        "patient_type": "new",
        "reason": "Calf cramps at night",
        "privacy_version": "2026-11",
    }
    data.update(overrides)
    return PatientDetails(**data)


def form_data(service, slot, location=None, **overrides):
    from booking.forms import STARTED_SALT, encode_slot

    data = {
        "service": str(service.pk),
        "visit_type": VisitType.IN_CLINIC,
        "location": str(location.pk) if location else "",
        "practitioner": "",
        "slot": encode_slot(slot),
        "name": "Alex Morgan",
        "email": "alex@example.com",
        "phone": "(416) 555-0123",
        "contact_preference": "email",
        "patient_type": "new",
        "reason": "Calf cramps at night",
        "consent": "on",
        "website": "",
        "action": "submit",
        "started": signing.dumps(time_module.time() - 30, salt=STARTED_SALT),
        "request_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def local(dt):
    return timezone.localtime(dt)


__all__ = ["Booking", "make_clinic", "make_practitioner", "make_service", "free_starts", "patient", "form_data"]
