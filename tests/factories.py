"""All test data: factory_boy factories for every app, and the few builders tests share.

* ``make_clinic()`` -> (profile, location): the clinic's facts with weekday opening hours.
* ``make_practitioner(name, location=…)`` works every day (9:00–17:00 at ``location``, 18:00–20:00 by video, or
  ``hours=FRONT_DESK_HOURS``), so free slots exist whatever day the tests run.
* ``make_service([practitioners])``, ``free_starts(service)``, ``patient()``, ``form_data(service, slot)`` for
  booking requests; ``make_booking(practitioner, service, start)`` places a booking directly at a chosen time;
  ``make_staff(username, *groups)`` a staff user in the real groups; ``FrontDeskClinic`` a small clinic with two
  practitioners, one service and a front-desk user (the ``desk_clinic`` fixture in conftest.py).
"""

import time as time_module
import uuid
from datetime import datetime, time, timedelta

import factory
from django.contrib.auth.models import Group, User
from django.core import signing
from django.utils import timezone
from django.utils.text import slugify

from articles.models import Article, ArticleFAQ, ArticleReference, Condition, Treatment, TreatmentFAQ
from booking.models import Booking, BookingPolicy, BookingStatus, Patient, Service, VisitType, WorkingHours
from booking.scheduling.availability import slots_for
from booking.workflow import PatientDetails
from clinic.models import ClinicProfile, Location, OpeningHours, Practitioner

PATIENT_NAME = "Zebulon Quixote-Marsh"  # unusual on purpose: easy to search a whole page for it


class ClinicProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClinicProfile

    name = "Test Clinic"
    tagline = "Care for cramps and spasms."
    phone = "(416) 555-0100"
    sms_number = "(416) 555-0101"
    email = "desk@clinic.example"
    banner_text = "Video visits available."


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["slug"]

    name = "Main clinic"
    slug = "main"
    street = "1 Test Street"
    city = "Toronto"
    region = "ON"
    postal_code = "M4K 0A0"


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    name = factory.Sequence(lambda n: f"Practitioner {n}")
    slug = factory.Sequence(lambda n: f"practitioner-{n}")
    title = "Registered Physiotherapist"
    credentials = "PT, MScPT"
    summary = "Helps people move again."


class TreatmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Treatment

    name = factory.Sequence(lambda n: f"Treatment {n}")
    slug = factory.Sequence(lambda n: f"treatment-{n}")
    summary = "A treatment that may help."
    body = "## What it is\n\nA gentle treatment.\n\n## Who it may help\n\nSome people."
    meta_description = "About this treatment."


class TreatmentFAQFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentFAQ

    treatment = factory.SubFactory(TreatmentFactory)
    order = factory.Sequence(int)
    question = factory.Sequence(lambda n: f"Treatment question {n}?")
    answer = "A careful answer."


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Condition

    name = factory.Sequence(lambda n: f"Condition {n}")
    slug = factory.Sequence(lambda n: f"condition-{n}")
    summary = "A common problem."
    body = "## Common causes\n\nMany.\n\n## When to see a doctor\n\nIf it gets worse."


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Article number {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    summary = "A short summary of the article."
    body = "Intro paragraph.\n\n## First section\n\nSome words here.\n\n## When to see a doctor\n\nIf in doubt."
    meta_description = "Meta description of the article."
    author = factory.SubFactory(PractitionerFactory)
    status = Article.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    reviewed_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=1))

    @factory.post_generation
    def conditions(self, create, extracted, **kwargs):
        if create and extracted:
            self.conditions.add(*extracted)


class ArticleFAQFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArticleFAQ

    article = factory.SubFactory(ArticleFactory)
    order = factory.Sequence(int)
    question = factory.Sequence(lambda n: f"Article question {n}?")
    answer = "A careful answer."


class ArticleReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArticleReference

    article = factory.SubFactory(ArticleFactory)
    order = factory.Sequence(int)
    title = "Leg cramps"
    publisher = "NHS"
    year = 2023
    url = "https://www.nhs.uk/conditions/leg-cramps/"


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    name = "Physio assessment"
    slug = "physio-60"
    duration_minutes = 60
    buffer_minutes = 0
    in_clinic = True
    telehealth = True
    price_text = "$100"

    @factory.post_generation
    def practitioners(self, create, extracted, **kwargs):
        if create and extracted:
            self.practitioners.set(extracted)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    name = PATIENT_NAME
    email = factory.Sequence(lambda n: f"patient{n}@example.com")
    phone = "+14165550134"
    contact_preference = "email"


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    # The booking's own copy of the details is the patient record's, unless a test gives others.
    patient = factory.LazyAttribute(
        lambda b: PatientFactory(
            name=b.patient_name, email=b.email, phone=b.phone, contact_preference=b.contact_preference
        )
    )
    patient_name = PATIENT_NAME
    email = factory.Sequence(lambda n: f"patient{n}@example.com")
    phone = "+14165550134"
    phone_as_typed = "(416) 555-0134"
    contact_preference = "email"
    patient_type = "new"
    reason = "Night cramps in the calf"
    consent_at = factory.LazyFunction(timezone.now)
    privacy_version = "2026-11"
    status = BookingStatus.REQUESTED
    visit_type = VisitType.IN_CLINIC
    end = factory.LazyAttribute(lambda b: b.start + b.service.duration)
    blocked_until = factory.LazyAttribute(lambda b: b.end + b.service.buffer)


def make_clinic(*, confirm_instantly=False, **profile_fields):
    """The clinic's facts: profile, one location, weekday hours. Returns (profile, location)."""
    profile = ClinicProfileFactory(**profile_fields)
    if confirm_instantly:
        BookingPolicy.objects.create(confirm_instantly=True)
    location = LocationFactory()
    for day in range(5):
        OpeningHours.objects.get_or_create(weekday=day, defaults={"opens": time(8), "closes": time(18)})
    OpeningHours.objects.get_or_create(weekday=6, defaults={"opens": None, "closes": None})
    return profile, location


BOOKING_HOURS = {"clinic": (9, 17), "video": (18, 20)}
FRONT_DESK_HOURS = {"clinic": (8, 16), "video": (16, 20)}


def make_practitioner(name="Pat Lee", *, slug=None, location=None, telehealth=True, video="", user=None, hours=None):
    """A practitioner working every day: at ``location`` (if given) and by video (if ``telehealth``)."""
    hours = hours or BOOKING_HOURS
    practitioner = PractitionerFactory(
        name=name,
        slug=slug or slugify(name.split()[0]),
        title="Physiotherapist",
        credentials="PT",
        video_room_url=video,
        user=user,
    )
    for weekday in range(7):
        if location is not None:
            start, end = hours["clinic"]
            WorkingHours.objects.create(
                practitioner=practitioner, weekday=weekday, start=time(start), end=time(end), location=location
            )
        if telehealth:
            start, end = hours["video"]
            WorkingHours.objects.create(practitioner=practitioner, weekday=weekday, start=time(start), end=time(end))
    return practitioner


def make_service(practitioners, slug="physio-60", *, minutes=60, buffer=0, **fields):
    return ServiceFactory(
        slug=slug, duration_minutes=minutes, buffer_minutes=buffer, practitioners=practitioners, **fields
    )


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
    """What the booking form posts for a valid in-clinic request at ``slot``."""
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


def local(day_offset, hour, minute=0):
    """An aware datetime ``day_offset`` days from today at hour:minute on the clinic's clock."""
    tz = timezone.get_default_timezone()
    day = timezone.localdate(timezone=tz) + timedelta(days=day_offset)
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def make_booking(practitioner, service, start, *, visit_type=VisitType.IN_CLINIC, location=None, **fields):
    """A booking placed directly (no availability check) at ``start``."""
    return BookingFactory(
        service=service,
        practitioner=practitioner,
        start=start,
        visit_type=visit_type,
        location=location if visit_type == VisitType.IN_CLINIC else None,
        **fields,
    )


def make_staff(username, *groups, superuser=False):
    user = User.objects.create_user(
        username, f"{username}@clinic.example", "a-long-test-password", is_staff=True, is_superuser=superuser
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


class FrontDeskClinic:
    """A clinic with two practitioners, one service and a front-desk user."""

    def __init__(self):
        self.profile, self.location = make_clinic()
        self.pat = make_practitioner("Pat Lee", location=self.location, hours=FRONT_DESK_HOURS)
        self.sam = make_practitioner(
            "Sam Roy", location=self.location, video="https://video.example/sam", hours=FRONT_DESK_HOURS
        )
        self.service = make_service([self.pat, self.sam])
        self.desk = make_staff("desk", "Front desk")

    def booking(self, start, practitioner=None, **kwargs):
        kwargs.setdefault("location", self.location)
        return make_booking(practitioner or self.pat, self.service, start, **kwargs)
