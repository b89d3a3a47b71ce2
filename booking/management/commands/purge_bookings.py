"""Anonymise the personal data of old bookings, keeping the bookings themselves (and so the counts).

    manage.py purge_bookings --older-than 24 [--dry-run]

A booking whose start is more than N months ago loses the patient's name, email, phone, reason,
the staff notes and the video link; the bodies and calendar files of its emails are cleared too.
Service, practitioner, times, status and history stay, so reports and counts do not change.
A patient record whose last visit started more than N months ago is anonymised the same way (name, email,
phone, date of birth, notes); its bookings stay attached, so the patient's counts stay right.
A patient with a health record (an intake form) still within its retention period is left alone entirely.
A waitlist entry that ended more than N months ago (expired on its end date, left, or booked from an offer) is
anonymised too (name, email, phone); the row stays, so the waitlist counts do. Its offers lose their link (the
stored hash of the emailed token is replaced, so the link no longer opens anything), the offer and welcome emails
are cleared, and its link to leave the waitlist shows the invalid-link page from then on.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import Booking, OutboxEmail, OutboxStatus, Patient
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from clinic import datetimes

ANONYMISED_NAME = "Anonymised"
PK_TEXT = Cast("pk", output_field=CharField())


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


def old_waitlist_entries(cutoff):
    """Waitlist entries not anonymised yet that ended before `cutoff`: left or booked before it (`updated` is set
    at that moment; a later edit only keeps the entry longer), or whose end date passed before it (expired)."""
    left_or_booked = Q(status__in=[EntryStatus.LEFT, EntryStatus.BOOKED], updated__lt=cutoff)
    # A waiting entry past its end date has expired even if the worker has not marked it yet.
    expired = Q(status__in=[EntryStatus.EXPIRED, EntryStatus.WAITING], until__lt=timezone.localdate(cutoff))
    return WaitlistEntry.objects.filter(anonymised_at__isnull=True).filter(left_or_booked | expired)


def waitlist_emails(entry_ids, offer_ids):
    """The offer and welcome emails of these entries (found by the ids their rows carry)."""
    return OutboxEmail.objects.filter(
        Q(context__waitlist_offer__in=list(offer_ids)) | Q(context__waitlist_entry__in=list(entry_ids))
    )


def anonymise_waitlist(queryset, now=None, chunk=500):
    """Blank the personal fields of the entries in `queryset`, make their offers' links unusable and clear their
    emails. Returns (entries, emails) changed."""
    now = now or timezone.now()
    ids = list(queryset.values_list("pk", flat=True))
    entries = emails = 0
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        with transaction.atomic():
            offers = WaitlistOffer.objects.filter(entry_id__in=part)
            offer_ids = list(offers.values_list("pk", flat=True))
            # Not a hash any token can have (those are 64 hex digits): the emailed link opens nothing any more.
            # An offer still open (its hold long over) is closed as not taken.
            offers.filter(status=OfferStatus.OFFERED).update(status=OfferStatus.EXPIRED, decided_at=now)
            offers.update(token_hash=Concat(Value("anonymised-"), PK_TEXT))
            # One still waiting to go (it never should, that long after) is not sent to an address no longer kept.
            waitlist_emails(part, offer_ids).filter(status=OutboxStatus.PENDING).update(status=OutboxStatus.CANCELLED)
            emails += waitlist_emails(part, offer_ids).update(
                body="",
                ics="",
                recipient=Concat(Value("anonymised+waitlist-"), PK_TEXT, Value("@invalid")),
            )
            entries += WaitlistEntry.objects.filter(pk__in=part, anonymised_at__isnull=True).update(
                name=ANONYMISED_NAME,
                email="",
                email_key="",
                phone="",
                phone_as_typed="",
                anonymised_at=now,
            )
    return entries, emails


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
            entries = old_waitlist_entries(cutoff)
            self.stdout.write(
                _("Dry run: would anonymise %(count)d waitlist entry(ies) that ended before %(cutoff)s.")
                % {"count": entries.count(), "cutoff": f"{cutoff:%Y-%m-%d}"}
            )
            return
        count, emails = anonymise(queryset)
        people = anonymise_patients(old_patients(cutoff))
        waiting, waitlist_emails_cleared = anonymise_waitlist(old_waitlist_entries(cutoff))
        self.stdout.write(_("Anonymised %(count)d patient record(s).") % {"count": people})
        self.stdout.write(
            _("Anonymised %(count)d waitlist entry(ies) that ended before %(cutoff)s; cleared %(emails)d email(s).")
            % {"count": waiting, "cutoff": f"{cutoff:%Y-%m-%d}", "emails": waitlist_emails_cleared}
        )
        self.stdout.write(
            self.style.SUCCESS(
                _("Anonymised %(count)d booking(s) that started before %(cutoff)s; cleared %(emails)d email(s).")
                % {"count": count, "cutoff": f"{cutoff:%Y-%m-%d}", "emails": emails}
            )
        )
