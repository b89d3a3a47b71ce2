"""Times as patients and staff read them: in the clinic's zone, with the zone named."""

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.translation import gettext

from clinic import datetimes

register = template.Library()


@register.simple_tag
def clinic_zone():
    return datetimes.zone_label()


@register.simple_tag
def clinic_tz_name():
    return settings.TIME_ZONE


@register.filter
def when(start):
    """Day, date and time in the clinic's zone, without the zone (for text that names it once)."""
    return datetimes.local_when(start) if start else ""


@register.simple_tag
def when_zoned(start, telehealth=False):
    """A <time> naming the clinic's zone; for telehealth, booking.js adds the patient's own time if it differs."""
    if not start:
        return ""
    if telehealth:
        return format_html(
            '<time datetime="{}" data-local-time data-clinic-tz="{}" data-your-time="{}">{}</time>',
            start.isoformat(),
            settings.TIME_ZONE,
            gettext("your time"),
            datetimes.when_with_zone(start),
        )
    return format_html('<time datetime="{}">{}</time>', start.isoformat(), datetimes.when_with_zone(start))
