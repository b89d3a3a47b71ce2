"""Dates and times as the clinic reads them: in its own time zone (settings.TIME_ZONE), formatted by Django.

Every page, email, export and admin screen that shows a moment goes through here, so "10 a.m." means 10 a.m.
at the clinic whatever the server's or the visitor's zone, and the zone is named where a patient may be
elsewhere (telehealth).
"""

from datetime import datetime, time

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

# Names people recognise for the zones a Canadian clinic is likely to be in; others fall back to the city.
_ZONE_NAMES = {
    "America/Toronto": ("Eastern Time", "Toronto"),
    "America/Montreal": ("Eastern Time", "Montréal"),
    "America/Halifax": ("Atlantic Time", "Halifax"),
    "America/St_Johns": ("Newfoundland Time", "St. John's"),
    "America/Winnipeg": ("Central Time", "Winnipeg"),
    "America/Regina": ("Central Standard Time", "Regina"),
    "America/Edmonton": ("Mountain Time", "Edmonton"),
    "America/Vancouver": ("Pacific Time", "Vancouver"),
    "America/New_York": ("Eastern Time", "New York"),
}


def clinic_tz():
    return timezone.get_default_timezone()


def local(moment):
    """An aware datetime on the clinic's clock."""
    return timezone.localtime(moment, clinic_tz())


def local_date(moment):
    """The clinic's calendar date at `moment`."""
    return local(moment).date()


def today(now=None):
    """Today's date at the clinic (at `now`, if given)."""
    return timezone.localdate(now, timezone=clinic_tz())


def local_midnight(day):
    """The moment a clinic day starts."""
    return datetime.combine(day, time.min, tzinfo=clinic_tz())


def zone_label():
    """E.g. "Eastern Time (Toronto)"; CLINIC_TIME_ZONE_LABEL overrides it."""
    override = getattr(settings, "CLINIC_TIME_ZONE_LABEL", "")
    if override:
        return override
    name = settings.TIME_ZONE
    if name in _ZONE_NAMES:
        zone, city = _ZONE_NAMES[name]
        return _("%(zone)s (%(city)s)") % {"zone": _(zone), "city": city}
    return name.rsplit("/", 1)[-1].replace("_", " ")


def day_label(moment, *, year=False):
    """E.g. "Friday 18 December" (with the year: "Friday 18 December 2026")."""
    return date_format(local(moment), "l j F Y" if year else "l j F")


def local_when(start, *, year=True):
    """A start in the clinic's zone, e.g. "Friday 18 December 2026, 10 a.m." (without the zone)."""
    return f"{day_label(start, year=year)}, {time_format(local(start), 'TIME_FORMAT')}"


def when_with_zone(start, *, year=True):
    """E.g. "Friday 18 December 2026, 10 a.m. Eastern Time (Toronto)": what emails and pages say."""
    return f"{local_when(start, year=year)} {zone_label()}"


def local_label(moment, fmt="D j M Y, H:i"):
    """A moment on the clinic's clock in a Django date format (the admin's compact form by default)."""
    return date_format(local(moment), fmt)


def stamp(moment):
    """E.g. "2026-12-18 10:00": sortable, for notes, exports and record names."""
    return local_label(moment, "Y-m-d H:i") if moment else ""
