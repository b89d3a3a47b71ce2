"""A patient's course on the booking page (/book/), for services the clinic marks as allowing it online.

The request form is filled in as for one visit, with "How many visits?" and "How often?". Sending it shows
the course's dates (free, or why not with the nearest free time that week) to take or skip; nothing is saved
until the patient presses "Book these visits". Plain forms and server-rendered pages: no JavaScript needed.
"""

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import datetimes
from clinic.facts import get_facts
from clinic.models import Practitioner

from .. import workflow
from ..scheduling.slotcheck import free_at
from .choices import SKIP, chosen_starts, preview_rows
from .preview import Plan, preview
from .workflow import CourseConflict, book_course

BOOK_COURSE = "book_course"  # the review page's "Book these visits" button

# What the review page carries back unchanged (everything the patient typed; never the course choices).
NOT_CARRIED = {"csrfmiddlewaretoken", "action"}


def plan_for(form):
    """The course the patient asked for, with the practitioner free at the first time (for "any", the first
    one free, as for a single request); None when the first time is no longer free."""
    data = form.cleaned_data
    service, visit_type, location = data["service"], data["visit_type"], data.get("location")
    candidates = free_at(service, visit_type, location, data.get("practitioner"), data["slot"])
    if not candidates:
        return None
    practitioner = data.get("practitioner") or Practitioner.objects.get(pk=candidates[0])
    return Plan(
        service=service,
        visit_type=visit_type,
        location=location,
        practitioner=practitioner,
        first_start=data["slot"],
        every_weeks=data["course_every_weeks"] or 1,
        visits=data["course_visits"],
    )


def review_page(request, form, plan, *, problem="", status=200):
    """The course's dates to take or skip; everything typed travels along in hidden fields."""
    course_preview = preview(plan, staff=False)
    posted = request.POST if request.POST.get("action") == BOOK_COURSE else {}
    rows = preview_rows(course_preview, posted)
    carried = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in NOT_CARRIED and not name.startswith("visit_")
        for value in values
    ]
    context = {
        "form": form,
        "plan": plan,
        "rows": rows,
        "carried": carried,
        "problem": problem,
        "book_action": BOOK_COURSE,
        "to_book": sum(1 for row in rows if row["choices"] and row["default"] != SKIP),
    }
    return render(request, "booking/course_review.html", context, status=status)


def save(request, form, plan):
    """Book the dates the patient chose. Returns the first new booking, or a page to show instead (the dates
    again, when one was taken meanwhile or a choice is missing); None when the form got an error."""
    starts, problem = chosen_starts(preview(plan, staff=False), request.POST)
    if starts is None:
        return review_page(request, form, plan, problem=problem)
    if not starts:
        return review_page(request, form, plan, problem=_("Choose at least one date to book."))
    data = form.cleaned_data
    profile = get_facts().profile
    patient_fields = {
        "patient_name": data["name"],
        "email": data["email"],
        "phone": data["phone"],
        "phone_as_typed": data.get("phone_as_typed", ""),
        "contact_preference": data["contact_preference"],
        "patient_type": data["patient_type"],
        "reason": data.get("reason", ""),
        "privacy_version": profile.privacy_version if profile else "",
        "consent_at": timezone.now(),
    }
    try:
        _course, visits = book_course(
            plan,
            starts,
            by=workflow.PATIENT,
            staff=False,
            patient_fields=patient_fields,
            request_key=data.get("request_key") or None,
        )
    except CourseConflict as exc:
        taken = ", ".join(_when(start) for start in exc.starts) or _("one of the times")
        problem = _("Nothing was booked: %(dates)s was just taken. Please check the dates again.") % {"dates": taken}
        return review_page(request, form, plan, problem=problem)
    except workflow.TooManyOpen:
        form.add_error("email", _("This email address already has open requests with us. Please call us to book."))
        return None
    except workflow.NotAllowed as exc:
        return review_page(request, form, plan, problem=str(exc))
    return visits[0]


def _when(start):
    return datetimes.local_when(start, year=False)
