"""Anonymise the personal data of old bookings, keeping the bookings themselves (and so the counts).

    manage.py purge_bookings --older-than 24 [--dry-run]

A booking whose start is more than N months ago loses the patient's name, email, phone, reason,
the staff notes and the video link; the bodies and calendar files of its emails are cleared too.
Service, practitioner, times, status and history stay, so reports and counts do not change.
A patient record whose last visit started more than N months ago is anonymised the same way (name, email,
phone, date of birth, notes); its bookings stay attached, so the patient's counts stay right.
A patient with a health record (an intake form) still within its retention period is left alone entirely.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import Booking, OutboxEmail, Patient
from clinic import datetimes

ANONYMISED_NAME = "Anonymised"


def months_before(day, months):
    month_index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    # Clamp the day (31 March - 1 month = 28/29 February).
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise ValueError(day)


def cutoff_for(months, now=None):
    today = datetimes.today(now)
    return datetimes.local_midnight(months_before(today, months))


def old_bookings(cutoff):
    """Bookings to anonymise: started before `cutoff`, except those of a patient whose health record is still
    within its retention period (booking/intake/retention.py), which keep the record's identity until then."""
    from booking.intake.retention import patients_still_kept

    return Booking.objects.filter(start__lt=cutoff, anonymised_at__isnull=True).exclude(
        patient_id__in=patients_still_kept()
    )


def old_patients(cutoff):
    """Patients not anonymised yet whose last visit started before `cutoff` (records without any visit: made
    before it)."""
    from booking.intake.retention import patients_still_kept

    recent = Booking.objects.filter(patient=OuterRef("pk"), start__gte=cutoff)
    visited = Booking.objects.filter(patient=OuterRef("pk"))
    return (
        Patient.objects.filter(anonymised_at__isnull=True)
        .filter(Q(Exists(visited)) | Q(created__lt=cutoff))
        .exclude(Exists(recent))
        .exclude(pk__in=patients_still_kept())  # a health record still kept keeps its identity
    )


def anonymise_patients(queryset, now=None):
    now = now or timezone.now()
    with transaction.atomic():
        return queryset.update(
            name=ANONYMISED_NAME,
            email="",
            phone="",
            date_of_birth=None,
            notes="",
            email_key="",
            name_key="",
            phone_digits="",
            search_text="",
            possible_duplicate_of=None,
            anonymised_at=now,
        )


def anonymise(queryset, now=None, chunk=500):
    """Anonymise the bookings in `queryset` and their emails. Returns (bookings, emails) changed."""
    now = now or timezone.now()
    ids = list(queryset.values_list("pk", flat=True))
    bookings = emails = 0
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        with transaction.atomic():
            reference = Subquery(Booking.objects.filter(pk=OuterRef("booking_id")).values("reference")[:1])
            emails += OutboxEmail.objects.filter(booking_id__in=part).update(
                body="", ics="", context={}, recipient=Concat(Value("anonymised+"), reference, Value("@invalid"))
            )
            bookings += Booking.objects.filter(pk__in=part, anonymised_at__isnull=True).update(
                patient_name=ANONYMISED_NAME,
                email=Concat(Value("anonymised+"), F("reference"), Value("@invalid")),
                phone="",
                phone_as_typed="",
                reason="",
                staff_notes="",
                telehealth_url="",
                anonymised_at=now,
            )
    return bookings, emails


class Command(BaseCommand):
    help = "Anonymise the personal data of bookings that started more than N months ago (counts are kept)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=settings.BOOKING_RETENTION_MONTHS,
            metavar="MONTHS",
            help="Anonymise bookings that started more than this many months ago (default: %(default)s).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Say what would be anonymised; change nothing.")

    def handle(self, *args, older_than, dry_run, **options):
        if older_than < 1:
            raise CommandError(_("--older-than must be at least 1 month."))
        cutoff = cutoff_for(older_than)
        queryset = old_bookings(cutoff)
        if dry_run:
            count = queryset.count()
            emails = OutboxEmail.objects.filter(booking__in=queryset).count()
            self.stdout.write(
                _(
                    "Dry run: would anonymise %(count)d booking(s) that started before %(cutoff)s "
                    "and clear %(emails)d email(s). Nothing was changed."
                )
                % {"count": count, "cutoff": f"{cutoff:%Y-%m-%d}", "emails": emails}
            )
            self.stdout.write(
                _("Dry run: would anonymise %(count)d patient record(s).") % {"count": old_patients(cutoff).count()}
            )
            return
        count, emails = anonymise(queryset)
        people = anonymise_patients(old_patients(cutoff))
        self.stdout.write(_("Anonymised %(count)d patient record(s).") % {"count": people})
        self.stdout.write(
            self.style.SUCCESS(
                _("Anonymised %(count)d booking(s) that started before %(cutoff)s; cleared %(emails)d email(s).")
                % {"count": count, "cutoff": f"{cutoff:%Y-%m-%d}", "emails": emails}
            )
        )
