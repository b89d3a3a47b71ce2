"""Scale the site up for the benchmark: many articles, practitioners with hours, and bookings.

    python manage.py seed_bench_data                       # 500 articles, 20 practitioners, 10,000 bookings
    python manage.py seed_bench_data --articles 50 --bookings 1000

Idempotent: it tops each kind of row up to the asked-for total, so a second run changes nothing. Everything it
creates is marked "bench" (slugs and emails), and it loads the clinic's own content first if the database is
empty. Meant for a benchmark database (scripts/bench.py uses build/bench/ or a dedicated PostgreSQL database),
never for a live site: it refuses to run unless --yes is given or the database name contains "bench".
"""

import random
from datetime import UTC, datetime, time, timedelta

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from articles.models import Article, ArticleFAQ, ArticleReference, Condition, Treatment
from booking.models import Booking, BookingStatus, Patient, Service, TimeOff, VisitType, WorkingHours
from clinic.models import ClinicProfile, Location, Practitioner

BENCH_SERVICE_ALL = "bench-any-60"  # offered by every practitioner: the "20 practitioners" case
BENCH_SERVICE_FIVE = "bench-five-60"  # offered by five: the "5 practitioners" case


class Command(BaseCommand):
    help = "Top the database up to a benchmark-sized data set (articles, practitioners, bookings)."

    def add_arguments(self, parser):
        parser.add_argument("--articles", type=int, default=500, help="published articles in total")
        parser.add_argument("--practitioners", type=int, default=20, help="active practitioners in total")
        parser.add_argument("--bookings", type=int, default=10_000, help="bookings in total")
        parser.add_argument("--patients", type=int, default=20_000, help="patient records in total")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--yes", action="store_true", help="run even if the database name has no 'bench'")

    def handle(self, *args, **opts):
        name = str(connection.settings_dict.get("NAME", ""))
        if "bench" not in name and not opts["yes"]:
            raise CommandError(f"Database {name!r} does not look like a benchmark database; pass --yes to seed it.")
        self.rng = random.Random(opts["seed"])
        if not ClinicProfile.objects.exists():
            call_command("load_content", stdout=self.stdout)
        with transaction.atomic():
            people = self.practitioners(opts["practitioners"])
            self.services(people)
            self.articles(opts["articles"], people)
        self.patients(opts["patients"])
        self.bookings(opts["bookings"])
        self.stdout.write(
            f"bench data: {Article.objects.published().count()} published articles, "
            f"{Practitioner.objects.active().count()} practitioners, {Patient.objects.count()} patients, "
            f"{Booking.objects.count()} bookings"
        )

    # --- Patients -------------------------------------------------------------------------------------------

    FIRST = (
        "Alex Sam Jordan Priya Mei Omar Élise Noah Aisha Lucas Sofia Chen Maria Ahmed Grace Liam Fatima Ethan Yuki "
        "Olivia Mateo Zoe Daniel Amara Hannah Ravi Chloe Diego Nadia Owen Leila Isaac Ana Tariq Emma Kofi Ines Ben"
    ).split()
    LAST = (
        "Rivera Okafor Tremblay Nguyen Singh MacDonald Kowalski Haddad Smith Côté Garcia Wong Patel Roy Gagnon "
        "Kim Li Brown Wilson Martin Lee Chen Taylor Anderson Thomas Moreau Fischer Rossi Silva Novak Ivanova Sato "
        "Mensah Dubois Lopez Khan Ali Murphy Walsh Campbell Stewart Young King Wright Scott Green Baker Adams Nelson"
    ).split()

    def patients(self, total):
        have = Patient.objects.count()
        new = []
        for n in range(have, total):
            first, last = self.rng.choice(self.FIRST), self.rng.choice(self.LAST)
            new.append(
                Patient(
                    name=f"{first} {last} {n}",
                    email=f"bench-patient-{n}@example.com",
                    phone=f"+1416{n % 10_000_000:07d}",
                    contact_preference="email",
                ).derive_keys()
            )
        Patient.objects.bulk_create(new, batch_size=2000)

    # --- Practitioners and their hours ------------------------------------------------------------------------

    def practitioners(self, total):
        location = Location.objects.filter(is_active=True).order_by("order", "pk").first()
        existing = Practitioner.objects.active().count()
        for i in range(existing, total):
            p, created = Practitioner.objects.get_or_create(
                slug=f"bench-practitioner-{i}",
                defaults={
                    "name": f"Bench Practitioner {i}",
                    "title": "Registered Physiotherapist",
                    "credentials": "PT, MScPT",
                    "summary": "Helps people with cramps, spasms and strains move again.",
                },
            )
            if created:
                hours = [(wd, time(8), time(18), location) for wd in range(5)] + [(5, time(9), time(13), location)]
                hours.append((2, time(18), time(20), None))  # a telehealth evening
                WorkingHours.objects.bulk_create(
                    WorkingHours(practitioner=p, weekday=wd, start=s, end=e, location=loc) for wd, s, e, loc in hours
                )
                off = timezone.now() + timedelta(days=self.rng.randrange(2, 60))
                TimeOff.objects.create(practitioner=p, start=off, end=off + timedelta(hours=6), reason="bench")
        people = list(Practitioner.objects.active().order_by("pk"))
        # Everyone works: practitioners from the content get weekday hours too if they have none.
        for p in people:
            if not p.working_hours.exists():
                WorkingHours.objects.bulk_create(
                    WorkingHours(practitioner=p, weekday=wd, start=time(9), end=time(17), location=location)
                    for wd in range(5)
                )
        return people

    def services(self, people):
        for slug, name, offered_by in (
            (BENCH_SERVICE_ALL, "Bench assessment (any practitioner)", people),
            (BENCH_SERVICE_FIVE, "Bench assessment (five practitioners)", people[:5]),
        ):
            service, _ = Service.objects.get_or_create(
                slug=slug,
                defaults={"name": name, "duration_minutes": 60, "price_text": "$100", "in_clinic": True,
                          "telehealth": True, "order": 99},
            )  # fmt: skip
            service.practitioners.add(*offered_by)

    # --- Articles ----------------------------------------------------------------------------------------------

    def articles(self, total, people):
        have = Article.objects.published().count()
        if have >= total:
            return
        treatments = list(Treatment.objects.all())
        conditions = list(Condition.objects.all())
        model = Article.objects.published().order_by("pk").first()
        body = model.body if model else "Intro.\n\n## What helps\n\nRest.\n\n## When to see a doctor\n\nIf it lasts."
        start = Article.objects.filter(slug__startswith="bench-article-").count()
        now = timezone.now()
        new = []
        for i in range(start, start + total - have):
            author = people[i % len(people)]
            new.append(
                Article(
                    title=f"Bench article {i}: easing cramps and spasms, part {i % 17 + 1}",
                    slug=f"bench-article-{i}",
                    summary="How muscle cramps and spasms happen, what may help, and when to see a doctor.",
                    body=body,
                    meta_description="A benchmark article about muscle cramps and spasms.",
                    treatment=treatments[i % len(treatments)] if treatments else None,
                    author=author,
                    reviewer=people[(i + 1) % len(people)],
                    status=Article.Status.PUBLISHED,
                    published_at=now - timedelta(days=2 + i % 700, minutes=i),
                    reviewed_on=(now - timedelta(days=1 + i % 300)).date(),
                )
            )
        for article in new:
            article.render_body()  # as save() would: pages read the stored HTML
        Article.objects.bulk_create(new, batch_size=200)
        created = list(Article.objects.filter(slug__in=[a.slug for a in new]))
        through = Article.conditions.through
        links, faqs, refs = [], [], []
        for n, article in enumerate(created):
            for c in conditions[n % max(len(conditions), 1) :][:2]:
                links.append(through(article_id=article.pk, condition_id=c.pk))
            for k in range(3):
                faqs.append(
                    ArticleFAQ(article=article, order=k, question=f"Question {k + 1} about {article.title}?",
                               answer="A short, careful answer: it may help, and research suggests why.")
                )  # fmt: skip
            for k in range(2):
                refs.append(
                    ArticleReference(article=article, order=k, title="Leg cramps", publisher="NHS", year=2023,
                                     url="https://www.nhs.uk/conditions/leg-cramps/")
                )  # fmt: skip
        through.objects.bulk_create(links, batch_size=500)
        ArticleFAQ.objects.bulk_create(faqs, batch_size=500)
        ArticleReference.objects.bulk_create(refs, batch_size=500)

    # --- Bookings ----------------------------------------------------------------------------------------------

    def bookings(self, total):
        """Past bookings (completed, cancelled, no-show) over a year, and a third of the next 60 days' hours taken.

        Each practitioner's day is cut into hour slots 09:00-17:00 (clinic time); a slot is used at most once, so
        active bookings never overlap (the PostgreSQL exclusion constraint would refuse them).
        """
        have = Booking.objects.count()
        if have >= total:
            return
        service = Service.objects.get(slug=BENCH_SERVICE_ALL)
        location = Location.objects.filter(is_active=True).order_by("order", "pk").first()
        people = list(service.practitioners.filter(is_active=True).order_by("pk"))
        tz = timezone.get_default_timezone()
        today = timezone.localdate()
        taken = set(Booking.objects.values_list("practitioner_id", "start"))
        # Every (practitioner, slot) on weekdays from a year ago to 60 days ahead, in a fixed shuffled order;
        # future ones are used only a third of the time, so availability stays realistic.
        slots = []
        for offset in range(-365, 61):
            day = today + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            for hour in range(9, 17):
                start = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
                for p in people:
                    if offset > 0 and self.rng.random() > 0.33:
                        continue
                    if offset in (0, 1):
                        continue  # keep the minimum-notice edge free of seeded rows
                    slots.append((p, start, offset))
        self.rng.shuffle(slots)
        patient_ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True)[:5000])
        if not patient_ids:
            patient_ids = [Patient.objects.create(name="Bench Patient", email="bench-patient@example.com").pk]
        now = timezone.now()
        new = []
        past_statuses = [BookingStatus.COMPLETED] * 8 + [BookingStatus.CANCELLED, BookingStatus.NO_SHOW]
        for p, start, offset in slots:
            if have + len(new) >= total:
                break
            if (p.pk, start) in taken:
                continue
            taken.add((p.pk, start))
            n = have + len(new)
            status = (
                self.rng.choice(past_statuses)
                if offset < 0
                else self.rng.choice([BookingStatus.REQUESTED, BookingStatus.CONFIRMED])
            )
            new.append(
                Booking(
                    reference=f"B{n:06d}"[-7:],
                    patient_id=patient_ids[n % len(patient_ids)],
                    service=service,
                    visit_type=VisitType.IN_CLINIC,
                    location=location,
                    practitioner=p,
                    start=start,
                    end=start + timedelta(minutes=60),
                    blocked_until=start + timedelta(minutes=60),
                    status=status,
                    patient_name=f"Bench Patient {n}",
                    email=f"bench-patient-{n}@example.com",
                    phone="+14165550134",
                    contact_preference="email",
                    patient_type="returning",
                    consent_at=now,
                    privacy_version="bench",
                    request_key=f"bench{n:010d}",
                )
            )
        if have + len(new) < total:
            self.stderr.write(f"only room for {have + len(new)} bookings in the seeded hours")
        Booking.objects.bulk_create(new, batch_size=1000)
