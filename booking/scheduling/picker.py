"""The slot picker: free times grouped under their day, a few days per page, computed on the server.

One picker serves the request form, the patient's move page and the staff reschedule page. A day and its
times are always rendered together, so no page (with or without JavaScript) can show times under another
date, and the value of each time is the exact start that gets saved.
"""

from dataclasses import dataclass, field
from datetime import date

from django.urls import reverse
from django.utils.http import urlencode

from clinic import datetimes

from ..forms import decode_slot, encode_slot, parse_date
from ..models import VisitType
from .availability import slots_for
from .engine import group_by_local_date

DAYS_PER_PAGE = 6


@dataclass
class Day:
    date: date
    times: list  # (encoded value, aware start)


@dataclass
class Picker:
    ready: bool = False
    problems: list = field(default_factory=list)  # why no times can be shown yet, in words
    days: list = field(default_factory=list)  # the Days on this page
    earlier: date | None = None  # first day of the previous page
    later: date | None = None  # first day of the next page
    chosen_slot: str = ""
    telehealth: bool = False
    alternatives: list = field(default_factory=list)  # (label, url) when nothing is free
    waitlist_url: str = ""  # join the waitlist with the same choices, when no time suits

    @property
    def any_free(self):
        return bool(self.days)


def page_of_days(free_starts, *, first=None, slot=None, per_page=DAYS_PER_PAGE):
    """(days on the page, first day of the previous page, first day of the next page).

    The page starts at `first` (a date or ISO text); without it, at the page holding the chosen slot, else
    at the earliest free day.
    """
    by_date = group_by_local_date(free_starts, datetimes.clinic_tz())
    days = list(by_date)
    start_day = parse_date(first) if first and not isinstance(first, date) else first
    if start_day is None and slot:
        chosen = decode_slot(slot)
        if chosen is not None:
            start_day = datetimes.local_date(chosen)
            index = next((i for i, d in enumerate(days) if d >= start_day), 0)
            index -= index % per_page
            return _page(days, by_date, index, per_page)
    index = next((i for i, d in enumerate(days) if d >= start_day), len(days)) if start_day else 0
    if index >= len(days):
        index = max(len(days) - per_page, 0)
    return _page(days, by_date, index, per_page)


def _page(days, by_date, index, per_page):
    shown = days[index : index + per_page]
    earlier = days[max(index - per_page, 0)] if index > 0 else None
    later = days[index + per_page] if index + per_page < len(days) else None
    return [Day(d, [(encode_slot(t), t) for t in by_date[d]]) for d in shown], earlier, later


def build_picker(choices, *, first=None, slot=None):
    """The picker for the request form, from a validated ChoicesForm (service, visit type, place, person)."""
    data = getattr(choices, "cleaned_data", {}) or {}
    service, visit_type = data.get("service"), data.get("visit_type")
    picker = Picker(chosen_slot=slot or "", telehealth=visit_type == VisitType.TELEHEALTH)
    if choices.errors or not service or not visit_type:
        picker.problems = [str(e) for errors in choices.errors.values() for e in errors]
        return picker
    practitioner = data.get("practitioner")
    free = slots_for(service, visit_type, data.get("location"), practitioner)
    picker.ready = True
    picker.waitlist_url = waitlist_url(service, visit_type, data.get("location"), practitioner)
    picker.days, picker.earlier, picker.later = page_of_days(free.keys(), first=first, slot=slot)
    if not picker.days:
        picker.alternatives = alternatives(service, visit_type, data.get("location"), practitioner)
    return picker


def waitlist_url(service, visit_type, location, practitioner):
    """The waitlist's join page, prefilled with the choices the patient made on the booking page."""
    params = {"service": service.slug, "visit": visit_type}
    if location is not None and visit_type != VisitType.TELEHEALTH:
        params["location"] = location.pk
    if practitioner is not None:
        params["practitioner"] = practitioner.slug
    return reverse("waitlist:join") + "?" + urlencode(params)


def alternatives(service, visit_type, location, practitioner):
    """Choices that do have free times when the patient's own have none: any practitioner, the other visit type."""
    found = []
    query = f"/book/?service={service.slug}"
    if practitioner is not None and slots_for(service, visit_type, location, None):
        suffix = "&visit=telehealth" if visit_type == VisitType.TELEHEALTH else ""
        found.append(("any", query + suffix))
    other = VisitType.IN_CLINIC if visit_type == VisitType.TELEHEALTH else VisitType.TELEHEALTH
    if service.offers(other) and slots_for(service, other, None, None):
        found.append((other, query + ("&visit=telehealth" if other == VisitType.TELEHEALTH else "&visit=in_clinic")))
    return found


def free_times_for_move(booking):
    """Free starts with the booking's own practitioner, for its service and visit type (its own time left out)."""
    free = slots_for(
        booking.service, booking.visit_type, booking.location, booking.practitioner, exclude_booking=booking.pk
    )
    return [t for t, pids in free.items() if booking.practitioner_id in pids and t != booking.start]


def move_picker(booking, *, first=None, slot=None):
    """The picker for moving a booking: used by the patient's move page and the staff reschedule page alike."""
    picker = Picker(ready=True, chosen_slot=slot or "", telehealth=booking.visit_type == VisitType.TELEHEALTH)
    picker.days, picker.earlier, picker.later = page_of_days(free_times_for_move(booking), first=first, slot=slot)
    return picker
