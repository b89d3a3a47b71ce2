"""The clinic's own facts: who it is, where, when it is open, and who works there."""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import phones
from .phones import dialable
from .regulators import College, register_url


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class ClinicProfile(models.Model):
    """The one row of clinic-wide facts shown on every page (edited in admin, cached site-wide)."""

    name = models.CharField(_("clinic name"), max_length=120)
    tagline = models.CharField(_("tagline"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, help_text=_("As patients should dial it, e.g. (416) 555-0134."))
    sms_number = models.CharField(
        _("SMS number"), max_length=40, blank=True, help_text=_("Number patients can text. Leave empty to hide.")
    )
    email = models.EmailField(_("email"))
    banner_enabled = models.BooleanField(_("show announcement banner"), default=True)
    banner_text = models.CharField(
        _("announcement banner"),
        max_length=200,
        blank=True,
        help_text=_("One short sentence shown at the top of every page."),
    )
    banner_link_text = models.CharField(_("banner link text"), max_length=60, blank=True)
    banner_link_url = models.CharField(
        _("banner link"),
        max_length=200,
        blank=True,
        help_text=_("A path on this site, e.g. /book/?visit=telehealth"),
    )
    privacy_version = models.CharField(
        _("privacy notice version"),
        max_length=20,
        default="2026-11",
        help_text=_("Change this when the privacy notice changes; each booking records the version it agreed to."),
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("clinic profile")
        verbose_name_plural = _("clinic profile")

    def __str__(self):
        return self.name

    def clean(self):
        if self.banner_link_url and not self.banner_link_url.startswith("/"):
            raise ValidationError({"banner_link_url": _("Use a path on this site that starts with “/”.")})
        foreign = self.foreign_numbers(self.banner_text)
        if foreign:
            # The banner adds the clinic's own call and text links; a typed number drifts out of date.
            msg = _("%(numbers)s is not the clinic's phone or text number. The banner adds those links itself.")
            raise ValidationError({"banner_text": msg % {"numbers": ", ".join(foreign)}})

    def foreign_numbers(self, text):
        """Phone numbers in `text` that are neither the clinic's phone nor its SMS number."""
        own = {dialable(n) for n in (self.phone, self.sms_number) if n}
        return sorted(set(phones.found_in(text)) - own)

    @property
    def phone_href(self):
        return "tel:" + dialable(self.phone)

    @property
    def sms_href(self):
        return "sms:" + dialable(self.sms_number or self.phone)


class Location(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), unique=True)
    street = models.CharField(_("street address"), max_length=200)
    city = models.CharField(_("city"), max_length=100)
    region = models.CharField(_("province or state"), max_length=50, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country code"), max_length=2, default="CA")
    map_url = models.URLField(_("map link"), blank=True, help_text=_("A link to the location on a map service."))
    directions = models.CharField(
        _("directions"), max_length=300, blank=True, help_text=_("Parking, transit, entrance.")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self):
        return self.name

    @property
    def one_line(self):
        return ", ".join(p for p in [self.street, self.city, self.region, self.postal_code] if p)


class OpeningHours(models.Model):
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices, unique=True)
    opens = models.TimeField(_("opens"), null=True, blank=True)
    closes = models.TimeField(_("closes"), null=True, blank=True)

    class Meta:
        ordering = ["weekday"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")

    def __str__(self):
        return self.get_weekday_display()

    @property
    def is_closed(self):
        return self.opens is None or self.closes is None

    def clean(self):
        if (self.opens is None) != (self.closes is None):
            raise ValidationError(_("Give both an opening and a closing time, or neither for a closed day."))
        if self.opens and self.closes and self.closes <= self.opens:
            raise ValidationError({"closes": _("Closing time must be after opening time.")})


class PractitionerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def bookable(self):
        """Active practitioners who see patients (the clinic's medical reviewer does not)."""
        return self.active().filter(sees_patients=True)


class Practitioner(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), unique=True)
    title = models.CharField(_("title"), max_length=120, help_text=_("e.g. Registered Physiotherapist"))
    credentials = models.CharField(_("credentials"), max_length=120, blank=True, help_text=_("e.g. PT, MScPT"))
    summary = models.CharField(_("short summary"), max_length=240, blank=True)
    bio = models.TextField(_("bio"), blank=True, help_text=_("Markdown. A short paragraph or two."))
    photo = models.ImageField(_("photo"), upload_to="team/", blank=True)
    photo_alt = models.CharField(_("photo description"), max_length=200, blank=True)
    college = models.CharField(
        _("regulatory college"),
        max_length=20,
        choices=College.choices,
        blank=True,
        help_text=_("The college the practitioner is registered with; patients can check the public register."),
    )
    registration_number = models.CharField(
        _("registration number"),
        max_length=30,
        blank=True,
        help_text=_("As the college's public register shows it. Printed on receipts."),
    )
    sees_patients = models.BooleanField(
        _("sees patients"),
        default=True,
        help_text=_("Off for someone who only reviews the clinic's health information and cannot be booked."),
    )
    is_clinical_reviewer = models.BooleanField(
        _("clinical reviewer"),
        default=False,
        help_text=_(
            "A physician qualified to review pages about medication, pregnancy and warning signs. "
            "Pages that touch these need this reviewer."
        ),
    )
    video_room_url = models.URLField(
        _("default video room"), blank=True, help_text=_("Used for telehealth visits when a booking has no own link.")
    )
    user = models.OneToOneField(
        "auth.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="practitioner",
        help_text=_("The staff login of this practitioner, so they can edit their own hours."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    objects = PractitionerQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("clinic:practitioner", kwargs={"slug": self.slug})

    @property
    def name_with_credentials(self):
        return f"{self.name}, {self.credentials}" if self.credentials else self.name

    @property
    def register_url(self):
        return register_url(self.college)

    def clean(self):
        if self.college and not self.registration_number.strip():
            raise ValidationError({"registration_number": _("Give the registration number the college lists.")})
        if self.photo and not self.photo_alt:
            raise ValidationError({"photo_alt": _("Describe the photo for people who cannot see it.")})
