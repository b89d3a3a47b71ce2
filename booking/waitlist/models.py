"""Who waits for which time (entries), and the held times offered to them (offers)."""

import hashlib
import secrets
from datetime import time, timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.models import Weekday

from ..models import ContactPreference, PatientType, VisitType


class DayPart(models.TextChoices):
    MORNING = "morning", _("Morning (before 12:00)")
    AFTERNOON = "afternoon", _("Afternoon (12:00–17:00)")
    EVENING = "evening", _("Evening (from 17:00)")


NOON, FIVE_PM = time(12), time(17)


def day_part(local_time):
    """The part of the day a start (on the clinic's clock) falls in."""
    if local_time < NOON:
        return DayPart.MORNING
    return DayPart.AFTERNOON if local_time < FIVE_PM else DayPart.EVENING


class EntryStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    BOOKED = "booked", _("Booked from an offer")
    LEFT = "left", _("Left the waitlist")
    EXPIRED = "expired", _("Expired (end date passed)")


class WaitlistEntryQuerySet(models.QuerySet):
    def waiting(self, now=None):
        """Entries still waiting: not booked, not left, and their end date not passed (clinic's calendar)."""
        today = timezone.localdate(now or timezone.now())
        return self.filter(status=EntryStatus.WAITING, until__gte=today)

    def in_turn(self):
        """Who is offered a time first: urgent entries, then who has waited longest."""
        return self.order_by("-urgent", "created", "pk")


def codes(values):
    return ",".join(str(v) for v in values)


class WaitlistEntry(models.Model):
    """One patient waiting for a time: what, with whom, which days and parts of the day, until when."""

    service = models.ForeignKey("booking.Service", on_delete=models.PROTECT, related_name="waitlist_entries")
    visit_type = models.CharField(_("visit type"), max_length=12, choices=VisitType.choices)
    location = models.ForeignKey("clinic.Location", on_delete=models.PROTECT, null=True, blank=True)
    practitioner = models.ForeignKey(
        "clinic.Practitioner",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        help_text=_("Empty: any practitioner who offers the service."),
    )
    # Comma-separated weekday numbers (0 = Monday) and day parts (DayPart values) that suit the patient.
    days = models.CharField(_("days that suit"), max_length=20)
    parts = models.CharField(_("parts of the day that suit"), max_length=40)
    until = models.DateField(_("until"), help_text=_("The entry expires after this day."))
    urgent = models.BooleanField(_("urgent"), default=False, help_text=_("Urgent entries are offered times first."))
    status = models.CharField(
        _("status"), max_length=10, choices=EntryStatus.choices, default=EntryStatus.WAITING, db_index=True
    )
    name = models.CharField(_("name"), max_length=120)
    email = models.EmailField(_("email"), max_length=254)
    # The address folded to one key per mailbox (booking.notifications.mailboxes): what the cap counts.
    email_key = models.CharField(max_length=254, db_index=True, editable=False)
    phone = models.CharField(_("phone"), max_length=20, help_text=_("Stored in international (E.164) format."))
    phone_as_typed = models.CharField(_("phone as typed"), max_length=40, blank=True)
    contact_preference = models.CharField(
        _("contact by"), max_length=8, choices=ContactPreference.choices, default=ContactPreference.EMAIL
    )
    patient_type = models.CharField(
        _("new or returning"), max_length=10, choices=PatientType.choices, default=PatientType.NEW
    )
    privacy_version = models.CharField(_("privacy notice version"), max_length=20, blank=True)
    patient = models.ForeignKey(
        "booking.Patient",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        help_text=_("The patient's record: set when staff add a patient from their page, or when an offer is booked."),
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
        help_text=_("The staff member who added a caller; empty when the patient joined online."),
    )
    booking = models.ForeignKey(
        "booking.Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    # The join form's one-time key: a double click or the back button adds one entry, not two.
    request_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created = models.DateTimeField(_("waiting since"), default=timezone.now, db_index=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)
    # Set by purge_bookings when the personal fields were blanked (the row stays, so the counts do).
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True, editable=False)

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-urgent", "created", "pk"]
        get_latest_by = "created"
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")

    def __str__(self):
        # No patient name: __str__ ends up in logs and the admin's change history.
        return f"#{self.pk} {self.service}"

    def save(self, *args, **kwargs):
        from ..notifications.mailboxes import normalise_email

        self.email_key = normalise_email(self.email) if self.email else ""
        super().save(*args, **kwargs)

    @property
    def weekdays(self):
        return {int(d) for d in self.days.split(",") if d.isdigit()}

    @property
    def day_parts(self):
        return {p for p in self.parts.split(",") if p}

    def days_display(self):
        names = dict(Weekday.choices)
        return ", ".join(str(names[d]) for d in sorted(self.weekdays) if d in names)

    def parts_display(self):
        labels = dict(DayPart.choices)
        return ", ".join(str(labels[p]).split(" (")[0] for p in DayPart.values if p in self.day_parts)

    def suits(self, start):
        """Does a start (aware) fall on a day and part of the day that suit this entry, by its end date?"""
        local = timezone.localtime(start)
        return (
            local.date() <= self.until and local.weekday() in self.weekdays and day_part(local.time()) in self.day_parts
        )

    def leave_url(self):
        from .tokens import leave_token

        return reverse("waitlist:leave", kwargs={"token": leave_token(self)})


class OfferStatus(models.TextChoices):
    OFFERED = "offered", _("Offered, held")
    CLAIMED = "claimed", _("Booked by the patient")
    DECLINED = "declined", _("Declined by the patient")
    EXPIRED = "expired", _("Not taken in time")
    TAKEN = "taken", _("Booked by someone else meanwhile")
    WITHDRAWN = "withdrawn", _("Withdrawn (patient left the waitlist)")


def hash_token(token):
    return hashlib.sha256(str(token).encode()).hexdigest()


def new_token():
    return secrets.token_urlsafe(24)


class WaitlistOfferQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=OfferStatus.OFFERED)

    def holding(self, now=None):
        """Offers whose time is held now: nobody else may book it online."""
        return self.open().filter(expires_at__gt=now or timezone.now())


class WaitlistOffer(models.Model):
    """A free time offered to one waiting patient, held for them until ``expires_at``."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    service = models.ForeignKey("booking.Service", on_delete=models.PROTECT, related_name="+")
    visit_type = models.CharField(_("visit type"), max_length=12, choices=VisitType.choices)
    location = models.ForeignKey("clinic.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    practitioner = models.ForeignKey("clinic.Practitioner", on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    # end + the service's buffer: the time the hold keeps the practitioner busy for online booking.
    blocked_until = models.DateTimeField(_("blocked until"))
    status = models.CharField(
        _("outcome"), max_length=10, choices=OfferStatus.choices, default=OfferStatus.OFFERED, db_index=True
    )
    # Only a hash is kept: the link in the email is the credential.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(_("offered"), default=timezone.now)
    expires_at = models.DateTimeField(_("held until"), db_index=True)
    decided_at = models.DateTimeField(_("outcome at"), null=True, blank=True)
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("offered by"),
        help_text=_("Empty: offered by the waitlist worker."),
    )
    booking = models.ForeignKey(
        "booking.Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    objects = WaitlistOfferQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("waitlist offer")
        verbose_name_plural = _("waitlist offers")
        constraints = [
            # One open offer per waiting patient at a time.
            models.UniqueConstraint(
                fields=["entry"], condition=models.Q(status="offered"), name="waitlist_one_open_offer_per_entry"
            ),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="waitlist_offer_end_after_start"
            ),
        ]
        indexes = [models.Index(fields=["practitioner", "start"])]

    def __str__(self):
        return f"#{self.pk} {timezone.localtime(self.start):%Y-%m-%d %H:%M}"

    @property
    def hold(self):
        return timedelta(minutes=settings.WAITLIST_HOLD_MINUTES)

    def is_held(self, now=None):
        return self.status == OfferStatus.OFFERED and self.expires_at > (now or timezone.now())
