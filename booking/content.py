"""Load the clinic's bookable services and the practitioners' weekly hours (idempotent: creates only
what is missing and never changes what staff edited)."""

from datetime import time

from articles.models import Treatment
from clinic.models import Location, Practitioner

from .models import Service, WorkingHours

SERVICES = [
    # slug, name, treatment, minutes, buffer, price, in clinic, telehealth, practitioners
    (
        "acupuncture-first-visit",
        "Acupuncture — first visit",
        "acupuncture",
        60,
        0,
        "$110",
        True,
        False,
        ["mei-ling-tran"],
    ),
    ("acupuncture-follow-up", "Acupuncture — follow-up", "acupuncture", 45, 15, "$90", True, False, ["mei-ling-tran"]),
    (
        "physiotherapy-assessment",
        "Physiotherapy assessment",
        "physiotherapy",
        60,
        0,
        "$120",
        True,
        True,
        ["daniel-okafor"],
    ),
    (
        "physiotherapy-follow-up",
        "Physiotherapy — follow-up",
        "physiotherapy",
        30,
        0,
        "$85",
        True,
        True,
        ["daniel-okafor"],
    ),
    ("myotherapy-60", "Myotherapy treatment", "myotherapy", 60, 0, "$105", True, False, ["sofia-lindqvist"]),
    ("dry-needling-30", "Dry needling", "dry-needling", 30, 0, "$70", True, False, ["daniel-okafor"]),
    (
        "telehealth-consultation",
        "Telehealth consultation",
        None,
        30,
        0,
        "$65",
        False,
        True,
        ["daniel-okafor", "mei-ling-tran", "sofia-lindqvist"],
    ),
]

DESCRIPTIONS = {
    "acupuncture-first-visit": "Assessment, health history and a first acupuncture treatment.",
    "acupuncture-follow-up": "A follow-up treatment for returning acupuncture patients.",
    "physiotherapy-assessment": "A full assessment, a clear plan and your first exercises.",
    "physiotherapy-follow-up": "A shorter visit for returning patients to progress your exercise plan.",
    "myotherapy-60": "Hands-on treatment, stretching and home-care advice.",
    "dry-needling-30": "A focused dry-needling session after a physiotherapy assessment.",
    "telehealth-consultation": "A video visit for advice, exercise review or a follow-up.",
}

# practitioner slug -> list of (weekdays, start, end, in clinic?)
HOURS = {
    "mei-ling-tran": [
        ((0, 2, 4), "09:00", "17:00", True),
        ((1,), "12:00", "18:00", False),
        ((5,), "09:00", "13:00", True),
    ],
    "daniel-okafor": [
        ((0, 1, 2, 3), "08:00", "16:00", True),
        ((4,), "08:00", "12:00", False),
        ((4,), "13:00", "18:00", True),
    ],
    "sofia-lindqvist": [
        ((1, 3), "10:00", "18:00", True),
        ((4,), "09:00", "15:00", True),
        ((5,), "09:00", "13:00", True),
        ((2,), "16:00", "18:00", False),
    ],
}


def _t(value):
    return time.fromisoformat(value)


def load(log=print):
    created = 0
    practitioners = {p.slug: p for p in Practitioner.objects.all()}
    treatments = {t.slug: t for t in Treatment.objects.all()}
    for order, (slug, name, treatment, minutes, buffer, price, clinic, tele, staff) in enumerate(SERVICES):
        service, new = Service.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "treatment": treatments.get(treatment),
                "description": DESCRIPTIONS[slug],
                "duration_minutes": minutes,
                "buffer_minutes": buffer,
                "price_text": price,
                "in_clinic": clinic,
                "telehealth": tele,
                "order": order,
            },
        )
        if new:
            created += 1
            service.practitioners.set([practitioners[s] for s in staff if s in practitioners])
    location = Location.objects.filter(is_active=True).first()
    for slug, rows in HOURS.items():
        practitioner = practitioners.get(slug)
        if practitioner is None or practitioner.working_hours.exists():
            continue  # staff manage hours once they exist
        for weekdays, start, end, in_clinic in rows:
            for weekday in weekdays:
                WorkingHours.objects.create(
                    practitioner=practitioner,
                    weekday=weekday,
                    start=_t(start),
                    end=_t(end),
                    location=location if in_clinic else None,
                )
                created += 1
    log(f"booking: {created} new rows")
    return created
