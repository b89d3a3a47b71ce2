"""The date and time picker shown on the booking page, computed on the server so it works without JavaScript."""

from django.utils import timezone

from .availability import group_by_local_date, slots_for
from .forms import encode_slot, parse_date


def pick_date(by_date, selected):
    """The chosen date if it has times, else the first date that has."""
    day = parse_date(selected) if selected else None
    if day in by_date:
        return day
    return next(iter(by_date), None)


def build_picker(choices, *, selected_date=None, slot=None):
    """Dates with free times and the times of the selected date, for the choices made so far."""
    data = getattr(choices, "cleaned_data", {}) or {}
    service = data.get("service")
    visit_type = data.get("visit_type")
    picker = {"ready": False, "dates": [], "selected_date": None, "times": [], "chosen_slot": slot or ""}
    if not service or not visit_type or choices.errors:
        return picker
    free = slots_for(service, visit_type, data.get("location"), data.get("practitioner"))
    by_date = group_by_local_date(free.keys(), timezone.get_default_timezone())
    day = pick_date(by_date, selected_date)
    picker.update(
        ready=True,
        service=service,
        visit_type=visit_type,
        dates=[(d, len(ts)) for d, ts in by_date.items()],
        selected_date=day,
        times=[(encode_slot(t), t) for t in by_date.get(day, [])],
    )
    return picker
