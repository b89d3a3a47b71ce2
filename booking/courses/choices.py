"""What a person chose on a course's preview, for staff and patients alike: for each date, book it, take the
free time offered that week instead, or skip it. Only what was pressed is booked."""

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from ..forms import decode_slot, encode_slot
from .preview import week_of

KEEP, ALTERNATIVE, SKIP = "keep", "alternative", "skip"


def choice_field(number):
    return f"visit_{number}"


def chosen_starts(course_preview, data):
    """(the starts chosen, "") or (None, what is wrong) when a choice is missing or mangled."""
    starts = []
    for visit in course_preview.visits:
        if visit.already_booked:
            continue
        value = str(data.get(choice_field(visit.number), ""))[:40]
        kind, _sep, slot = value.partition(":")
        if kind == KEEP:
            starts.append(visit.start)
        elif kind == ALTERNATIVE:
            start = decode_slot(slot)
            if start is None or week_of(start) != week_of(visit.start):
                return None, gettext("Visit %(n)d: choose a time in the same week.") % {"n": visit.number}
            starts.append(start)
        elif kind != SKIP:
            return None, gettext("Visit %(n)d: choose to book it, take the other time or skip it.") % {
                "n": visit.number
            }
    return starts, ""


def preview_rows(course_preview, posted):
    """The preview as rows: each visit's time, its state in words and the choices offered, with the default
    (book a free date; take the alternative for one in conflict, else skip). A re-shown preview keeps what
    was chosen, when it is still offered."""
    if course_preview is None:
        return []
    rows = []
    for visit in course_preview.visits:
        row = {"visit": visit, "field": choice_field(visit.number), "choices": []}
        if visit.already_booked:
            row["default"] = SKIP
            row["state"] = gettext("Already booked (this visit)")
            rows.append(row)
            continue
        if visit.free:
            row["state"] = gettext("Free")
            row["choices"].append((KEEP, gettext("Book %(when)s") % {"when": _short(visit.start)}))
            default = KEEP
        else:
            reason = visit.reason_label + (f" ({visit.closure_name})" if visit.closure_name else "")
            row["state"] = gettext("In conflict — %(reason)s") % {"reason": reason}
            default = SKIP
            if visit.alternative is not None:
                value = f"{ALTERNATIVE}:{encode_slot(visit.alternative)}"
                row["choices"].append(
                    (value, gettext("Book %(when)s instead (same week)") % {"when": _short(visit.alternative)})
                )
                default = value
        row["choices"].append((SKIP, gettext("Skip this date")))
        chosen = posted.get(row["field"])
        row["default"] = chosen if chosen in {value for value, _label in row["choices"]} else default
        rows.append(row)
    return rows


def _short(start):
    return date_format(timezone.localtime(start, timezone.get_default_timezone()), "D j M, H:i")
