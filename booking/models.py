"""Scheduling: what patients book, when practitioners work, and the bookings themselves."""

import secrets
import unicodedata
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic import caching, datetimes
from clinic.models import Weekday

from .visits.models import SignInCode  # noqa: F401  (a model of this app, kept in the visits package)


class VisitType(models.TextChoices):
    IN_CLINIC = "in_clinic", _("In the clinic")
    TELEHEALTH = "telehealth", _("Telehealth (video)")


class ServiceQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_treatment(self, treatment):
        """The bookable services shown on a treatment's page (registered with articles.services)."""
        return self.active().filter(treatment=treatment).order_by("order", "name")


class Service(models.Model):
    """What a patient books, e.g. "Acupuncture — first visit, 60 min"."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), unique=True)
    treatment = models.ForeignKey(
        "articles.Treatment", on_delete=models.SET_NULL, null=True, blank=True, related_name="services"
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(_("length (minutes)"), default=60)
    buffer_minutes = models.PositiveSmallIntegerField(
        _("buffer after (minutes)"), default=0, help_text=_("Time kept free after the visit for notes and cleaning.")
    )
    price_text = models.CharField(_("price"), max_length=60, blank=True, help_text=_("As shown to patients, e.g. $95"))
    in_clinic = models.BooleanField(_("offered in the clinic"), default=True)
    telehealth = models.BooleanField(_("offered by telehealth"), default=False)
    practitioners = models.ManyToManyField("clinic.Practitioner", related_name="services", blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("bookable"), default=True)
    allows_online_course = models.BooleanField(
        _("patients may book a course online"),
        default=False,
        help_text=_(
            "When on, patients booking this service online may ask for a course of visits (same weekday and "
            "time every 1–4 weeks). Staff can book a course of any service."
        ),
    )

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self):
        return self.name

    @property
    def duration(self):
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer(self):
        return timedelta(minutes=self.buffer_minutes)

    def offers(self, visit_type):
        return self.telehealth if visit_type == VisitType.TELEHEALTH else self.in_clinic

    def clean(self):
        if not (self.in_clinic or self.telehealth):
            raise ValidationError(_("Offer the service in the clinic, by telehealth, or both."))
        if self.duration_minutes is not None and not 5 <= self.duration_minutes <= 480:
            raise ValidationError({"duration_minutes": _("Give a length between 5 and 480 minutes.")})
        if self.buffer_minutes is not None and self.buffer_minutes > 120:
            raise ValidationError({"buffer_minutes": _("A buffer of more than 120 minutes is not allowed.")})


def ends_after_start(name):
    """The database itself refuses a row that ends before it starts."""
    return models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name=name)


def require_end_after_start(row, message):
    """The same rule in a form, with ``message`` next to the end field."""
    if row.start and row.end and row.end <= row.start:
        raise ValidationError({"end": message})


class WorkingHours(models.Model):
    """A practitioner's weekly hours at a location, or for telehealth when no location is set."""

    practitioner = models.ForeignKey("clinic.Practitioner", on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))
    location = models.ForeignKey(
        "clinic.Location",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("Leave empty for telehealth (video) hours."),
    )

    class Meta:
        ordering = ["practitioner", "weekday", "start"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        constraints = [ends_after_start("working_hours_end_after_start")]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self):
        require_end_after_start(self, _("The end time must be after the start time."))
        if self.practitioner_id and self.start and self.end and self.weekday is not None:
            clash = (
                WorkingHours.objects.filter(
                    practitioner_id=self.practitioner_id, weekday=self.weekday, start__lt=self.end, end__gt=self.start
                )
                .exclude(pk=self.pk)
                .first()
            )
            if clash:
                raise ValidationError(_("These hours overlap %(other)s for the same practitioner.") % {"other": clash})


class TimeOff(models.Model):
    practitioner = models.ForeignKey("clinic.Practitioner", on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=120, blank=True, help_text=_("Staff only, e.g. holiday."))

    class Meta:
        ordering = ["-start"]
        verbose_name = _("time off")
        verbose_name_plural = _("time off")
        constraints = [ends_after_start("time_off_end_after_start")]

    def __str__(self):
        return f"{self.practitioner}: {datetimes.stamp(self.start)}"

    def clean(self):
        require_end_after_start(self, _("The end must be after the start."))


class Closure(models.Model):
    date = models.DateField(_("date"), unique=True)
    reason = models.CharField(_("reason"), max_length=120, blank=True, help_text=_("e.g. Statutory holiday"))

    class Meta:
        ordering = ["date"]
        verbose_name = _("clinic closure")
        verbose_name_plural = _("clinic closures")

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.reason}".strip()


class BookingStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    CONFIRMED = "confirmed", _("Confirmed")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", _("Cancelled")
    COMPLETED = "completed", _("Completed")
    NO_SHOW = "no_show", _("No-show")


ACTIVE_STATUSES = (BookingStatus.REQUESTED, BookingStatus.CONFIRMED)

# Which state changes are allowed, so views, admin actions and commands share one rule.
TRANSITIONS = {
    BookingStatus.REQUESTED: {BookingStatus.CONFIRMED, BookingStatus.DECLINED, BookingStatus.CANCELLED},
    BookingStatus.CONFIRMED: {BookingStatus.COMPLETED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED},
}


class ContactPreference(models.TextChoices):
    CALL = "call", _("Phone call")
    TEXT = "text", _("Text message")
    EMAIL = "email", _("Email")


class PatientType(models.TextChoices):
    NEW = "new", _("New patient")
    RETURNING = "returning", _("Returning patient")


def fold_name(name):
    """A name compared the way people mean it: case, accents and spacing ignored ("ÉLISE  roy" = "elise roy")."""
    decomposed = unicodedata.normalize("NFKD", str(name))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def phone_digits(phone):
    return "".join(ch for ch in str(phone or "") if ch.isdigit())


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The same minimum-necessary rule as bookings: the front desk sees every patient, a practitioner
        only those with a booking with them, anyone else (editors) none."""
        if user.has_perm("booking.change_booking"):
            return self
        if user.has_perm("booking.view_booking") and user.has_perm("booking.view_patient"):
            return self.filter(Exists(Booking.objects.filter(patient=OuterRef("pk"), practitioner__user=user)))
        return self.none()

    def current(self):
        return self.filter(anonymised_at__isnull=True)


class Patient(models.Model):
    """One person the clinic sees; every booking belongs to one. The source of truth for contact details
    (a booking keeps the details given with it, for its history and its emails' snapshot)."""

    name = models.CharField(_("name"), max_length=120)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(
        _("phone"), max_length=20, blank=True, help_text=_("Stored in international (E.164) format.")
    )
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    contact_preference = models.CharField(
        _("contact by"), max_length=8, choices=ContactPreference.choices, default=ContactPreference.CALL
    )
    notes = models.TextField(_("notes"), blank=True, help_text=_("Staff only. No health details."))
    may_book_online = models.BooleanField(
        _("may book online"),
        default=True,
        help_text=_("Untick to have this patient's online requests wait for staff review, never confirmed at once."),
    )
    possible_duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="possible_duplicates",
        verbose_name=_("possible duplicate of"),
        help_text=_("Set when an online request partly matched this record. Merge the two, or clear this."),
    )
    # Derived on save, for matching and search: the folded email (booking.notifications.mailboxes), the folded name,
    # the phone's digits, and all three in one lower-case text (indexed for "typed any way" search).
    email_key = models.CharField(max_length=254, blank=True, editable=False)
    name_key = models.CharField(max_length=120, blank=True, editable=False)
    phone_digits = models.CharField(max_length=20, blank=True, editable=False, db_index=True)
    search_text = models.TextField(blank=True, editable=False)
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set for every record under the address when a code sign-in at /visits/ succeeds (booking.visits).
    last_signed_in_at = models.DateTimeField(_("last signed in"), null=True, blank=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        indexes = [models.Index(fields=["email_key", "name_key"], name="patient_match")]

    def __str__(self):
        # Only the record number: __str__ ends up in logs and the admin's change history.
        return _("Patient %(number)s") % {"number": self.pk}

    def save(self, *args, **kwargs):
        self.derive_keys()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "email_key", "name_key", "phone_digits", "search_text"}
        super().save(*args, **kwargs)

    def derive_keys(self):
        """Fill the matching and search columns from name, email and phone (save does it; bulk_create callers too)."""
        from .notifications.mailboxes import normalise_email

        self.email_key = normalise_email(self.email) if self.email else ""
        self.name_key = fold_name(self.name)[:120]
        self.phone_digits = phone_digits(self.phone)
        self.search_text = " ".join(filter(None, [self.name_key, self.email.lower(), self.phone_digits]))
        return self


# No 0/O or 1/I/L: references are read out over the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_reference():
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"{chars[:3]}-{chars[3:]}"


class BookingQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def busy_during(self, practitioner_ids, start, until):
        """Active bookings of these practitioners that keep them busy (buffer included) within [start, until).

        Half-open, like the no-overlap rule. (On PostgreSQL the save-time check asks the same question through
        the constraint's own range expression and GiST index: booking/scheduling/slotcheck.py.)
        """
        return self.active().filter(practitioner_id__in=practitioner_ids, start__lt=until, blocked_until__gt=start)

    def upcoming(self):
        return self.filter(start__gte=timezone.now())

    def visible_to(self, user):
        """Minimum necessary access: whoever works the bookings (the front desk) sees every patient;
        a practitioner only the patients booked with them; anyone else none."""
        if user.has_perm("booking.change_booking"):
            return self
        if user.has_perm("booking.view_booking"):
            return self.filter(practitioner__user=user)
        return self.none()


class Course(models.Model):
    """A course of treatment: ordinary bookings on the same weekday and time every few weeks, made together.

    Each visit is a Booking of its own (reference, reminders, late-cancellation window); the course only
    ties them together so they can be listed, emailed and cancelled as one (booking/courses/).
    """

    MIN_VISITS, MAX_VISITS = 2, 12
    MAX_EVERY_WEEKS = 4

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="courses")
    practitioner = models.ForeignKey("clinic.Practitioner", on_delete=models.PROTECT, related_name="courses")
    visit_type = models.CharField(_("visit type"), max_length=12, choices=VisitType.choices)
    location = models.ForeignKey("clinic.Location", on_delete=models.PROTECT, null=True, blank=True)
    every_weeks = models.PositiveSmallIntegerField(_("every (weeks)"))
    visits_planned = models.PositiveSmallIntegerField(_("visits planned"))
    booked_by = models.CharField(_("booked by"), max_length=150, help_text=_("Staff username or “patient”."))
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("course of treatment")
        verbose_name_plural = _("courses of treatment")
        constraints = [
            models.CheckConstraint(condition=models.Q(every_weeks__gte=1, every_weeks__lte=4), name="course_every_1_4"),
            models.CheckConstraint(
                condition=models.Q(visits_planned__gte=2, visits_planned__lte=12), name="course_visits_2_12"
            ),
        ]

    def __str__(self):
        # No patient name: __str__ ends up in logs and the admin's change history.
        return _("Course %(number)s") % {"number": self.pk}


class Booking(models.Model):
    reference = models.CharField(_("reference"), max_length=7, unique=True, default=new_reference, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("patient"))
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    visit_type = models.CharField(_("visit type"), max_length=12, choices=VisitType.choices)
    location = models.ForeignKey("clinic.Location", on_delete=models.PROTECT, null=True, blank=True)
    practitioner = models.ForeignKey("clinic.Practitioner", on_delete=models.PROTECT, related_name="bookings")
    start = models.DateTimeField(_("start"), db_index=True)
    end = models.DateTimeField(_("end"))
    # end + the service's buffer: the time this booking keeps the practitioner busy.
    blocked_until = models.DateTimeField(_("blocked until"))
    status = models.CharField(
        _("status"), max_length=12, choices=BookingStatus.choices, default=BookingStatus.REQUESTED, db_index=True
    )
    # The details given with this booking (the request's own, or the patient record's when booked by phone):
    # its history and the emails' snapshot. Current contact details live on the patient.
    patient_name = models.CharField(_("patient name"), max_length=120)
    email = models.EmailField(_("email"), max_length=254, db_index=True, blank=True)
    # The address folded to one key per mailbox (see booking.notifications.mailboxes): what the open-request cap counts.
    email_key = models.CharField(max_length=254, blank=True, db_index=True, editable=False)
    phone = models.CharField(_("phone"), max_length=20, help_text=_("Stored in international (E.164) format."))
    phone_as_typed = models.CharField(_("phone as typed"), max_length=40, blank=True)
    contact_preference = models.CharField(_("contact by"), max_length=8, choices=ContactPreference.choices)
    patient_type = models.CharField(_("new or returning"), max_length=10, choices=PatientType.choices)
    reason = models.TextField(_("reason for visit"), max_length=500, blank=True)
    consent_at = models.DateTimeField(_("privacy consent given"))
    privacy_version = models.CharField(_("privacy notice version"), max_length=20)
    telehealth_url = models.URLField(_("video link"), blank=True)
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, null=True, blank=True, related_name="bookings", verbose_name=_("course")
    )
    staff_notes = models.TextField(_("staff notes"), blank=True)
    # The form's one-time key: a double click or the back button cannot save the same request twice.
    request_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    ics_sequence = models.PositiveIntegerField(default=0, editable=False)
    # Raised by every change: a form carries the version it was made from, and a stale or repeated
    # form (another tab, a double tap, a colleague's earlier change) changes nothing.
    version = models.PositiveIntegerField(default=1, editable=False)
    reminder_queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the front desk marked the patient arrived (booking.workflow.mark_arrived): once per booking.
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True, editable=False)
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        get_latest_by = "created"
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        permissions = [("export_booking", _("Can export bookings as CSV"))]
        constraints = [
            ends_after_start("booking_end_after_start"),
            models.CheckConstraint(
                condition=models.Q(blocked_until__gte=models.F("end")), name="booking_blocked_after_end"
            ),
        ]
        indexes = [models.Index(fields=["practitioner", "start"])]

    def __str__(self):
        # No patient name here: __str__ ends up in logs and the admin's change history.
        return self.reference

    def save(self, *args, **kwargs):
        from .notifications.mailboxes import normalise_email

        self.email_key = normalise_email(self.email) if self.email else ""
        if kwargs.get("update_fields") is not None and "email" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "email_key"}
        super().save(*args, **kwargs)

    # Deliberately not get_absolute_url: admin's "view on site" (/admin/r/<type>/<id>/) would hand the
    # patient's own signed link to any staff account. Only emails to the patient carry it.
    def patient_url(self):
        return reverse("booking:manage", kwargs={"token": self.manage_token()})

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES

    @property
    def is_telehealth(self):
        return self.visit_type == VisitType.TELEHEALTH

    @property
    def video_link(self):
        return self.telehealth_url or (self.practitioner.video_room_url if self.is_telehealth else "")

    def can_become(self, status):
        return status in TRANSITIONS.get(self.status, set())

    def manage_token(self):
        from .tokens import make_token

        return make_token(self)

    def link_expired(self, now=None):
        """The patient's link stops working BOOKING_LINK_DAYS_AFTER days after the appointment ends."""
        now = now or timezone.now()
        return now > self.end + timedelta(days=settings.BOOKING_LINK_DAYS_AFTER)

    def patient_can_change(self, now=None):
        """Patients may cancel or move online until the late-cancellation window."""
        now = now or timezone.now()
        return self.is_active and self.start - now > timedelta(hours=settings.BOOKING_CANCEL_NOTICE_HOURS)


class BookingEvent(models.Model):
    """One change of a booking's state: who, when, from, to, and why."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("when"), default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    actor = models.CharField(_("who"), max_length=150, help_text=_("Staff username, “patient” or “system”."))
    from_status = models.CharField(_("from"), max_length=12, choices=BookingStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=BookingStatus.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("booking event")
        verbose_name_plural = _("booking history")

    def __str__(self):
        return f"{self.booking.reference}: {self.from_status or '—'} → {self.to_status}"


class AccessLog(models.Model):
    """Who read patient data in admin, and when (abstract; newest first)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-at"]


class BookingAccess(AccessLog):
    """Who opened a booking in admin, and when (read-only for staff)."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="accesses")

    class Meta(AccessLog.Meta):
        verbose_name = _("booking access")
        verbose_name_plural = _("booking access log")

    def __str__(self):
        return f"{self.booking.reference} by {self.user}"


class PatientAccess(AccessLog):
    """Who opened a patient's page in admin, and when (read-only for staff)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="accesses")

    class Meta(AccessLog.Meta):
        verbose_name = _("patient access")
        verbose_name_plural = _("patient access log")

    def __str__(self):
        return f"{self.patient} by {self.user}"


class PatientMerge(models.Model):
    """Two patient records found to be one person: what moved into the kept record, who merged, when."""

    kept = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="merges")
    merged_id = models.PositiveBigIntegerField(_("merged record number"))
    bookings_moved = models.PositiveIntegerField(_("bookings moved"), default=0)
    events_moved = models.PositiveIntegerField(_("history entries moved"), default=0)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("patient merge")
        verbose_name_plural = _("patient merges")

    def __str__(self):
        return f"{self.merged_id} → {self.kept_id}"


class BulkAccess(AccessLog):
    """A read of many bookings at once in admin (the list, a schedule, a CSV export), or of the waitlist (its list,
    an entry's page, the offers): who, when, which filter, how many rows. Written only for pages actually shown."""

    class View(models.TextChoices):
        LIST = "list", _("Booking list")
        SCHEDULE_DAY = "schedule_day", _("Day schedule")
        SCHEDULE_WEEK = "schedule_week", _("Week schedule")
        EXPORT = "export", _("CSV export")
        PATIENT_LIST = "patient_list", _("Patient list")
        WAITLIST = "waitlist", _("Waitlist")
        WAITLIST_ENTRY = "waitlist_entry", _("Waitlist entry")
        WAITLIST_OFFERS = "waitlist_offers", _("Waitlist offers")

    view = models.CharField(max_length=20, choices=View.choices)
    query = models.CharField(_("filter"), max_length=500, blank=True)
    rows = models.PositiveIntegerField(default=0)

    class Meta(AccessLog.Meta):
        verbose_name = _("bulk read")
        verbose_name_plural = _("bulk read log")

    def __str__(self):
        return f"{self.get_view_display()} by {self.user} ({self.rows})"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Not needed")


def new_message_id():
    # Stable per row: a retry after a crash between the mail server's "OK" and the row being marked
    # sent carries the same Message-ID, so mail systems and people can recognise the repeat.
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "clinic.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


class OutboxEmail(models.Model):
    """Every email the site sends is first written here, in the same transaction as its cause."""

    kind = models.CharField(_("kind"), max_length=40)
    recipient = models.EmailField(_("recipient"))
    booking = models.ForeignKey(Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="emails")
    subject = models.CharField(_("subject"), max_length=200)
    # Written by the worker just before sending, from `context` (see booking.notifications.emails).
    body = models.TextField(_("body"), blank=True)
    ics = models.TextField(_("calendar attachment"), blank=True)
    # What the email must show, as of the moment it was queued: the booking's state then, and the note.
    context = models.JSONField(default=dict, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    # The worker sends a row only from this moment: now for most emails, the planned time for reminders,
    # later after a failure (backoff).
    send_after = models.DateTimeField(_("send after"), default=timezone.now, db_index=True)
    # Set when a worker claims the row; a row left "sending" past its lease belonged to a worker that died.
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, unique=True, default=new_message_id)
    # For reminders: the booking start it was written for, so a move plans a new one and no time gets two.
    for_start = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("email")
        verbose_name_plural = _("email outbox")
        constraints = [
            # At most one reminder for each time a booking has, however often it is planned.
            models.UniqueConstraint(
                fields=["booking", "kind", "for_start"],
                condition=models.Q(kind="reminder"),
                name="one_reminder_per_booking_time",
            )
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk}"


# How the clinic handles online requests: one row, edited in admin as "Booking policy".
class BookingPolicy(models.Model):
    """How the clinic handles online requests: one row, edited in admin."""

    CACHE_NAME = "booking-policy"

    confirm_instantly = models.BooleanField(
        _("confirm online requests instantly"),
        default=False,
        help_text=_("When on, a request for a free time is confirmed at once instead of waiting for staff review."),
    )

    class Meta:
        verbose_name = _("booking policy")
        verbose_name_plural = _("booking policy")

    def __str__(self):
        return str(self._meta.verbose_name).capitalize()

    @classmethod
    def current(cls):
        """The policy in force (defaults when none is saved), from the shared cache when possible."""
        policy, version = caching.get_versioned(cls.CACHE_NAME, "booking:policy")
        if policy is None:
            policy = cls.objects.order_by("pk").first() or cls()
            caching.set_versioned("booking:policy", policy, version, 60 * 60 * 24)
        return policy
