"""The clinic's time zone in words, so every time shown to a patient or the front desk names its zone."""

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

# Names people recognise for the zones a Canadian clinic is likely to be in; others fall back to the city.
_NAMES = {
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


def zone_label():
    """E.g. "Eastern Time (Toronto)"; CLINIC_TIME_ZONE_LABEL overrides it."""
    override = getattr(settings, "CLINIC_TIME_ZONE_LABEL", "")
    if override:
        return override
    name = settings.TIME_ZONE
    if name in _NAMES:
        zone, city = _NAMES[name]
        return _("%(zone)s (%(city)s)") % {"zone": _(zone), "city": city}
    return name.rsplit("/", 1)[-1].replace("_", " ")


def local_when(start, *, year=True):
    """A start in the clinic's zone, e.g. "Friday 18 December 2026, 10 a.m." (without the zone)."""
    local = timezone.localtime(start, timezone.get_default_timezone())
    day = date_format(local, "l j F Y" if year else "l j F")
    return f"{day}, {time_format(local, 'TIME_FORMAT')}"


def when_with_zone(start, *, year=True):
    """E.g. "Friday 18 December 2026, 10 a.m. Eastern Time (Toronto)": what emails and pages say."""
    return f"{local_when(start, year=year)} {zone_label()}"
