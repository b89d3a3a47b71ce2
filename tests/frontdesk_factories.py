"""Builders for the front-desk (admin) tests: a small clinic, staff users in the real groups
(created by booking's data migration), and bookings placed directly at chosen times."""

from datetime import datetime, time, timedelta
from itertools import count

from django.contrib.auth.models import Group, User
from django.utils import timezone

from booking.models import Booking, BookingStatus, Service, VisitType, WorkingHours
from clinic.models import ClinicProfile, Location, Practitioner

PATIENT_NAME = "Zebulon Quixote-Marsh"  # unusual on purpose: easy to search a whole page for it
_seq = count(1)


def make_clinic():
    profile = ClinicProfile.objects.create(name="Test Clinic", phone="(416) 555-0100", email="desk@clinic.example")
    location = Location.objects.create(name="Main", slug="main", street="1 Test St", city="Toronto")
    return profile, location


def make_practitioner(name=None, *, location=None, user=None, video=""):
    n = next(_seq)
    practitioner = Practitioner.objects.create(
        name=name or f"Practitioner {n}",
        slug=f"practitioner-{n}",
        title="Physiotherapist",
        user=user,
        video_room_url=video,
    )
    for weekday in range(7):
        if location is not None:
            WorkingHours.objects.create(
                practitioner=practitioner, weekday=weekday, start=time(8), end=time(16), location=location
            )
        WorkingHours.objects.create(practitioner=practitioner, weekday=weekday, start=time(16), end=time(20))
    return practitioner


def make_service(practitioners, *, minutes=60):
    n = next(_seq)
    service = Service.objects.create(
        name=f"Physio assessment {n}", slug=f"physio-{n}", duration_minutes=minutes, in_clinic=True, telehealth=True
    )
    service.practitioners.set(practitioners)
    return service


def local(day_offset, hour, minute=0):
    """An aware datetime `day_offset` days from today at hour:minute on the clinic's clock."""
    tz = timezone.get_default_timezone()
    day = timezone.localdate(timezone=tz) + timedelta(days=day_offset)
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def make_booking(
    practitioner,
    service,
    start,
    *,
    status=BookingStatus.REQUESTED,
    visit_type=VisitType.IN_CLINIC,
    location=None,
    **fields,
):
    n = next(_seq)
    end = start + service.duration
    data = {
        "patient_name": PATIENT_NAME,
        "email": f"patient{n}@example.com",
        "phone": "+14165550134",
        "phone_as_typed": "(416) 555-0134",
        "contact_preference": "email",
        "patient_type": "new",
        "reason": "Night cramps in the calf",
        "consent_at": timezone.now(),
        "privacy_version": "2026-11",
    }
    data.update(fields)
    return Booking.objects.create(
        service=service,
        visit_type=visit_type,
        location=location if visit_type == VisitType.IN_CLINIC else None,
        practitioner=practitioner,
        start=start,
        end=end,
        blocked_until=end + service.buffer,
        status=status,
        **data,
    )


def make_staff(username, *groups, superuser=False):
    user = User.objects.create_user(
        username, f"{username}@clinic.example", "a-long-test-password", is_staff=True, is_superuser=superuser
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


class Setup:
    """A clinic with two practitioners, one service and a front-desk user."""

    def __init__(self):
        self.profile, self.location = make_clinic()
        self.pat = make_practitioner("Pat Lee", location=self.location)
        self.sam = make_practitioner("Sam Roy", location=self.location, video="https://video.example/sam")
        self.service = make_service([self.pat, self.sam])
        self.desk = make_staff("desk", "Front desk")

    def booking(self, start, practitioner=None, **kwargs):
        kwargs.setdefault("location", self.location)
        return make_booking(practitioner or self.pat, self.service, start, **kwargs)
