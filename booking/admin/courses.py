"""Courses of treatment in the booking admin: "Book a course from this visit" (choose how often and how many
visits, see every date free or in conflict, take or skip the alternatives, then book them all at once), the
course's visits on a booking's page, and cancelling this and the following visits or the whole course.

The rules live in booking.courses; this module only asks, calls and reports.
"""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clinic.datetimes import local_label

from ..courses.choices import SKIP, chosen_starts, preview_rows
from ..courses.preview import plan_from_booking, preview
from ..courses.workflow import CourseConflict, Scope, book_course, cancel_visits, upcoming_in_scope
from ..models import Booking, Course
from ..workflow import NotAllowed, Stale, posted_version
from .common import change_url


class CourseForm(forms.Form):
    every_weeks = forms.TypedChoiceField(
        label=_("Every"),
        coerce=int,
        choices=[
            (n, ngettext("%(count)d week", "%(count)d weeks", n) % {"count": n})
            for n in range(1, Course.MAX_EVERY_WEEKS + 1)
        ],
        initial=1,
    )
    visits = forms.TypedChoiceField(
        label=_("Visits in the course (this one included)"),
        coerce=int,
        choices=[(n, str(n)) for n in range(Course.MIN_VISITS, Course.MAX_VISITS + 1)],
        initial=6,
    )


def describe_taken(starts):
    return ", ".join(local_label(start, "l j F, H:i") for start in starts)


def course_summary(booking):
    """The course's visits on a booking's page: each with its time, reference and status, in words."""
    if booking.course_id is None:
        return ""
    visits = list(booking.course.bookings.order_by("start", "pk"))
    rows = format_html_join(
        "",
        '<li>{}{} <a href="{}">{}</a> <span class="booking-status booking-status--{}">{}</span></li>',
        (
            (
                gettext("Visit %(n)d: ") % {"n": number},
                local_label(visit.start, "D j M Y, H:i"),
                change_url(visit),
                visit.reference,
                visit.status,
                visit.get_status_display(),
            )
            for number, visit in enumerate(visits, 1)
        ),
    )
    every = ngettext("every week", "every %(count)d weeks", booking.course.every_weeks) % {
        "count": booking.course.every_weeks
    }
    return format_html("<p>{} ({})</p><ol class='course-visits'>{}</ol>", booking.course, every, rows)


def course_actions(booking, now=None):
    """Buttons for a booking's page: book a course from it, or cancel its course's visits."""
    now = now or timezone.now()
    actions = []
    if booking.course_id is None:
        if booking.is_active:
            url = reverse("admin:booking_booking_course", args=[booking.pk])
            actions.append({"label": gettext("Book a course from this visit…"), "url": url, "method": "get"})
        return actions
    url = reverse("admin:booking_booking_course_cancel", args=[booking.pk])
    if booking.is_active and booking.start > now:
        actions.append(
            {"label": gettext("Cancel this and following visits…"), "url": f"{url}?scope=following", "method": "get"}
        )
    if upcoming_in_scope(booking, Scope.ALL, now).exists():
        actions.append({"label": gettext("Cancel the whole course…"), "url": f"{url}?scope=all", "method": "get"})
    return actions


class CourseAdminMixin:
    """BookingAdmin's course pages (its URLs are added in BookingAdmin.get_urls)."""

    def course_view(self, request, object_id):
        booking = self.booking_for_change(request, object_id)
        if booking.course_id is not None:
            messages.info(request, gettext("This visit is already part of a course."))
            return redirect(change_url(booking))
        if not booking.is_active:
            messages.error(request, gettext("Only a requested or confirmed visit can start a course."))
            return redirect(change_url(booking))
        action = request.POST.get("action", "")
        form = CourseForm(request.POST if request.method == "POST" else None)
        course_preview, problem = None, ""
        if request.method == "POST" and form.is_valid():
            plan = plan_from_booking(booking, form.cleaned_data["every_weeks"], form.cleaned_data["visits"])
            course_preview = preview(plan, staff=True)
            if action == "save":
                starts, problem = chosen_starts(course_preview, request.POST)
                if starts is not None:
                    try:
                        course, visits = book_course(
                            plan, starts, by=request.user, staff=True, version=posted_version(request.POST)
                        )
                    except CourseConflict as exc:
                        # Nothing was saved; the fresh preview shows the taken dates in conflict.
                        course_preview = preview(plan, staff=True)
                        problem = gettext(
                            "Nothing was saved: %(dates)s was taken while you were choosing. "
                            "Check the dates below and book again."
                        ) % {"dates": describe_taken(exc.starts) or gettext("a time")}
                    except Stale as exc:
                        self.not_changed(request, booking, exc)
                        return redirect(change_url(booking))
                    except NotAllowed as exc:
                        problem = str(exc)
                    else:
                        self.log_change(request, booking, gettext("Booked a course of treatment"))
                        messages.success(
                            request,
                            ngettext(
                                "Booked %(count)d more visit (%(refs)s) in %(course)s; the patient is emailed "
                                "once with every date and a calendar file.",
                                "Booked %(count)d more visits (%(refs)s) in %(course)s; the patient is emailed "
                                "once with every date and a calendar file.",
                                len(visits),
                            )
                            % {
                                "count": len(visits),
                                "refs": ", ".join(v.reference for v in visits),
                                "course": course,
                            },
                        )
                        return redirect(change_url(booking))
        rows = preview_rows(course_preview, request.POST if action == "save" else {})
        title = gettext("Book a course from %(ref)s") % {"ref": booking}
        return self.action_page(
            request,
            "course.html",
            booking,
            title,
            form=form,
            preview=course_preview,
            rows=rows,
            problem=problem,
            to_book=sum(1 for row in rows if row["choices"] and row["default"] != SKIP),
        )

    def course_cancel_view(self, request, object_id):
        booking = self.booking_for_change(request, object_id)
        if booking.course_id is None:
            messages.error(request, gettext("This visit is not part of a course."))
            return redirect(change_url(booking))
        scope = request.POST.get("scope") or request.GET.get("scope")
        if scope not in (Scope.FOLLOWING, Scope.ALL):
            scope = Scope.FOLLOWING
        if request.method == "POST":
            try:
                cancelled = cancel_visits(
                    booking,
                    scope,
                    by=request.user,
                    note=request.POST.get("note", "")[:300],
                    version=posted_version(request.POST),
                )
            except (NotAllowed, Stale) as exc:
                self.not_changed(request, booking, exc)
            else:
                for visit in cancelled:
                    self.log_change(request, visit, gettext("Cancelled with the course"))
                messages.success(
                    request,
                    ngettext(
                        "Cancelled %(count)d visit (%(refs)s); the patient is emailed once.",
                        "Cancelled %(count)d visits (%(refs)s); the patient is emailed once with every date.",
                        len(cancelled),
                    )
                    % {"count": len(cancelled), "refs": ", ".join(v.reference for v in cancelled)},
                )
            return redirect(change_url(booking))
        visits = list(upcoming_in_scope(booking, scope).order_by("start"))
        past = Booking.objects.filter(course_id=booking.course_id, start__lte=timezone.now()).count()
        title = (
            gettext("Cancel the whole course of %(ref)s?")
            if scope == Scope.ALL
            else gettext("Cancel %(ref)s and the following visits?")
        ) % {"ref": booking}
        return self.action_page(request, "course_cancel.html", booking, title, visits=visits, scope=scope, past=past)
