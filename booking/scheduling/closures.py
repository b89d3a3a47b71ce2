"""Statutory holidays as clinic closures, from the `holidays` library for the region in CLINIC_HOLIDAYS.

Loaded by `manage.py load_content` for this year and next. Idempotent: a date that already has a closure is
left as staff wrote it, so running it again changes nothing. Staff add or remove closures in admin.
"""

import holidays
from django.conf import settings

from clinic import datetimes

from ..models import Closure


def statutory_holidays(years, region=None):
    """{date: name} for the region ("CA-ON": country, then province) in the given years; {} when none is set."""
    region = settings.CLINIC_HOLIDAYS if region is None else region
    if not region:
        return {}
    country, _, subdiv = region.partition("-")
    found = holidays.country_holidays(country, subdiv=subdiv or None, years=list(years), language="en_CA")
    return dict(sorted(found.items()))


def load_holiday_closures(today=None, log=print):
    """Create a closure for each statutory holiday from `today` to the end of next year; returns how many."""
    today = today or datetimes.today()
    created = 0
    for day, name in statutory_holidays(range(today.year, today.year + 2)).items():
        if day < today:
            continue
        _, new = Closure.objects.get_or_create(date=day, defaults={"reason": name[:120]})
        created += new
    log(f"closures: {created} statutory holidays added")
    return created
