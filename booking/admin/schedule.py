"""The front desk's calendar: a day (a column per practitioner working that day) and a week (one practitioner,
a column per day) on one time axis running down, and the counts on the admin index page.

Each booking is a block as tall as its visit (its buffer below it), time off and closures are shaded and named,
and every free quarter hour is a link to the booking add page for that practitioner and time. A fixed handful of
queries whatever the number of bookings; the layout itself is booking.admin.timegrid.
"""

import re
from datetime import date, timedelta
from functools import partial
from urllib.parse import quote

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext

from clinic.datetimes import clinic_tz, local, local_midnight
from clinic.models import OpeningHours, Practitioner

from ..intake.access import record_flags_read, summaries_for
from ..intake.templatetags.intake import intake_badge
from ..models import Booking, BookingStatus, BulkAccess, Closure, TimeOff, WorkingHours
from ..workflow import arrival_label, may_arrive
from . import timegrid
from .audit import record_bulk_read
from .common import HIDDEN_IN_SCHEDULE

# Dates the calendar shows (far enough for any clinic; no arithmetic near the ends of the calendar).
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2999, 12, 31)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def requested_day(request):
    """(day, error): the ?date= asked for, or today with a message saying what was wrong with it."""
    today = timezone.localdate(timezone=clinic_tz())
    value = request.GET.get("date", "").strip()
    if not value:
        return today, ""
    try:
        day = date.fromisoformat(value) if _ISO_DATE.match(value) else None
    except ValueError:
        day = None
    if day is None:
        return today, gettext("“%(value)s” is not a date. Enter it as YYYY-MM-DD, for example %(example)s.") % {
            "value": value[:40],
            "example": today.isoformat(),
        }
    if not FIRST_DATE <= day <= LAST_DATE:
        return today, gettext("Choose a date between %(first)s and %(last)s.") % {
            "first": FIRST_DATE.isoformat(),
            "last": LAST_DATE.isoformat(),
        }
    return day, ""


# The calendar's small cells; the booking blocks (with their form) are in templates/.../_calendar.html.
CELL_HTML = {
    "work": '<div class="cal-work {cls}" aria-hidden="true"></div>',
    "closure": '<div class="cal-closure {cls}">{label}</div>',
    "off": '<div class="cal-off {cls}">{label}</div>',
    "buffer": '<div class="cal-buffer {cls}">{label}</div>',
    "free": '<a class="cal-free {cls}" href="{url}" aria-label="{label}">{time}</a>',
}
INTAKE_BADGE = "intake/includes/badge.html"
LABEL_HTML = '<div class="cal-time{hour} cal-at-{at} cal-span-{span}" aria-hidden="true">{text}</div>'


class ScheduleMixin:
    """BookingAdmin's day calendar and week calendar."""

    def may_book_by_phone(self, request):
        """Whoever may book callers (the front desk: the add page's own rule) gets a link on each free time."""
        return self.has_add_permission(request)

    def schedule_bookings(self, request, start, end, practitioner_id=None):
        """The bookings shown between two instants (not declined or cancelled), as the user may see them."""
        bookings = (
            self.get_queryset(request)
            .filter(start__lt=end, blocked_until__gt=start)
            .exclude(status__in=HIDDEN_IN_SCHEDULE)
            .select_related("service", "location", "patient")
            .order_by("start", "pk")
        )
        if practitioner_id is not None:
            bookings = bookings.filter(practitioner_id=practitioner_id)
        bookings = list(bookings)
        # Each block says whether its intake form is complete and shows screening flags, never an answer
        # (two queries for the whole page; showing flags is recorded as one bulk read of health information).
        intake = summaries_for(bookings)
        for booking in bookings:
            booking.intake_summary = intake.get(booking.pk, ())
        record_flags_read(request.user, sum(1 for summary in intake.values() if summary[2]))
        return bookings

    def schedule_practitioners(self, request, weekdays=None, booked_ids=()):
        """Active practitioners working on one of `weekdays` (all active ones when None) and any with a booking
        shown; a practitioner sees only their own. Each carries `shortest`, their shortest service in minutes."""
        works = Q(is_active=True)
        if weekdays is not None:
            works &= Q(Exists(WorkingHours.objects.filter(practitioner=OuterRef("pk"), weekday__in=weekdays)))
        practitioners = Practitioner.objects.filter(works | Q(pk__in=list(booked_ids)))
        if not request.user.has_perm("booking.change_booking"):
            practitioners = practitioners.filter(user=request.user)  # a practitioner's own column only
        practitioners = practitioners.annotate(
            shortest=Min("services__duration_minutes", filter=Q(services__is_active=True))
        )
        return list(practitioners.order_by("order", "name"))

    def schedule_context(self, request, title, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "media": self.media,
            "day_url": reverse("admin:booking_booking_schedule_day"),
            "week_url": reverse("admin:booking_booking_schedule_week"),
            "changelist_url": reverse("admin:booking_booking_changelist"),
            "grid_css_url": reverse("admin:booking_booking_schedule_css") + f"?v={timegrid.MAX_ROWS}",
            **extra,
        }

    # The grid --------------------------------------------------------------------------------------------

    def calendar(self, request, specs, bookings, first_day, last_day):
        """Columns for (practitioner, day) pairs, laid out on one axis: a dict for the template.

        Four queries whatever the number of bookings: hours, time off, closures, opening hours.
        """
        tz = clinic_tz()
        now = timezone.now()
        pids = sorted({p.pk for p, _d in specs})
        weekdays = sorted({d.weekday() for _p, d in specs})
        hours = timegrid.as_weekly(
            WorkingHours.objects.filter(practitioner_id__in=pids, weekday__in=weekdays)
            .order_by("start")
            .values("practitioner_id", "weekday", "start", "end", "location_id")
        )
        start, end = local_midnight(first_day), local_midnight(last_day + timedelta(days=1))
        time_off = list(
            TimeOff.objects.filter(practitioner_id__in=pids, start__lt=end, end__gt=start).order_by("start")
        )
        closures = {c.date: c for c in Closure.objects.filter(date__range=(first_day, last_day))}
        opening = {o.weekday: o for o in OpeningHours.objects.filter(weekday__in=weekdays)}

        columns = []
        for index, (practitioner, day) in enumerate(specs, start=2):
            column = timegrid.Column(practitioner, day, index=index, closure=closures.get(day))
            column.hours = [h for h in hours if h.practitioner_id == practitioner.pk and h.weekday == day.weekday()]
            day_start, day_end = local_midnight(day), local_midnight(day + timedelta(days=1))
            column.bookings = [
                b
                for b in bookings
                if b.practitioner_id == practitioner.pk and b.start < day_end and b.blocked_until > day_start
            ]
            column.time_off = [
                t for t in time_off if t.practitioner_id == practitioner.pk and t.start < day_end and t.end > day_start
            ]
            column.working = timegrid.working_bands(column, tz)
            columns.append(column)

        spans = [(timegrid._minutes(h.start), timegrid._minutes(h.end)) for h in hours]
        for day in {d for _p, d in specs}:
            o = opening.get(day.weekday())
            if o is not None and not o.is_closed:
                spans.append((timegrid._minutes(o.opens), timegrid._minutes(o.closes)))
        for column in columns:
            for b in column.bookings:
                spans.append(
                    (timegrid.wall_minutes(b.start, column.day, tz), timegrid.wall_minutes(b.end, column.day, tz))
                )
        axis = timegrid.Axis.covering(spans)

        may_book = self.may_book_by_phone(request)
        # What every cell of this page shares, worked out once (a day has hundreds of cells).
        page = {
            "tz": tz,
            "now": now,
            "may_book": may_book,
            "add_url": reverse("admin:booking_booking_add"),
            "bookings_url": reverse("admin:booking_booking_changelist"),
            "here": request.get_full_path(),
            "csrf_token": get_token(request) if may_book else "",
            "book": gettext("Book %(time)s with %(name)s"),
            "mark_arrived": gettext("Mark arrived"),
        }
        for column in columns:
            column.items = self.column_items(column, axis, page)
        today = timezone.localdate(now, timezone=tz)
        now_line = None
        if any(c.day == today for c in columns):
            minute = timegrid.wall_minutes(now, today, tz)
            if axis.first <= minute < axis.last:
                now_line = {"at": axis.row(minute), "time": local(now)}
        return {
            "axis": axis,
            "labels": axis.labels(),
            "labels_html": format_html_join(
                "",
                LABEL_HTML,
                ({**label, "hour": " cal-time--hour" if label["hour"] else ""} for label in axis.labels()),
            ),
            "columns": columns,
            "column_count": len(columns),
            "now_line": now_line,
            "may_book": may_book,
        }

    def column_items(self, column, axis, page):
        """Everything placed in one column, in time order (the order keyboard and screen reader users meet it)."""
        col, day, tz = column.index, column.day, page["tz"]
        items = []

        def place(kind, start_minute, end_minute, order=1, **data):
            spot = axis.place(start_minute, end_minute)
            if spot is not None:
                at, span = spot
                cls = f"cal-at-{at} cal-span-{span} cal-col-{col}"
                data.update(kind=kind, at=at, span=span, order=order, cls=cls)
                # Written here, not in a template: a day has hundreds of cells, and a template costs 10x more per cell.
                if kind in CELL_HTML:
                    data["html"] = format_html(CELL_HTML[kind], **data)
                else:
                    data["html"] = data.pop("render")(cls)
                items.append(data)

        for start_minute, end_minute in column.working:
            place("work", start_minute, end_minute, order=0)
        if column.closure is not None:
            reason = column.closure.reason or gettext("closed")
            place("closure", axis.first, axis.last, label=gettext("Clinic closed: %(reason)s") % {"reason": reason})
        for off in column.time_off:
            start_minute, end_minute = (
                timegrid.wall_minutes(off.start, day, tz),
                timegrid.wall_minutes(off.end, day, tz),
            )
            when = f"{start_minute // 60:02d}:{start_minute % 60:02d}–{end_minute // 60:02d}:{end_minute % 60:02d}"
            if end_minute - start_minute >= timegrid.DAY_MINUTES:
                when = gettext("all day")
            label = gettext("Time off %(when)s") % {"when": when}
            if off.reason:
                label = f"{label}: {off.reason}"
            place("off", start_minute, end_minute, label=label)
        lane_ends = []  # overlapping blocks (a visit kept after another was booked over it) sit side by side
        for booking in column.bookings:
            start_minute = timegrid.wall_minutes(booking.start, day, tz)
            end_minute = timegrid.wall_minutes(booking.end, day, tz)
            until_minute = timegrid.wall_minutes(booking.blocked_until, day, tz)
            lane = next((i for i, e in enumerate(lane_ends) if e <= start_minute), None)
            if lane is None:
                lane = len(lane_ends)
                lane_ends.append(until_minute)
            else:
                lane_ends[lane] = until_minute
            place(
                "booking",
                start_minute,
                max(end_minute, start_minute + 1),
                order=2,
                b=booking,
                render=partial(self.booking_block, booking, lane, end_minute - start_minute <= 30, page),
            )
            if until_minute > end_minute:
                minutes = until_minute - end_minute
                label = gettext("Buffer %(minutes)s min") % {"minutes": minutes}
                place("buffer", end_minute, until_minute, order=2, minutes=minutes, label=label)
        if page["may_book"]:
            busy = [(b.start, b.blocked_until) for b in column.bookings] + [(t.start, t.end) for t in column.time_off]
            seen = set()  # the hour repeated when clocks go back: one link per row
            for start in timegrid.free_starts(
                column, busy, tz=tz, now=page["now"], shortest_minutes=getattr(column.practitioner, "shortest", None)
            ):
                minute = start.hour * 60 + start.minute
                if minute in seen:
                    continue
                seen.add(minute)
                query = f"practitioner={column.practitioner.pk}&start={quote(start.isoformat())}"
                time_text = f"{start:%H:%M}"
                place(
                    "free",
                    minute,
                    minute + timegrid.STEP_MINUTES,
                    order=3,
                    url=f"{page['add_url']}?{query}",
                    time=time_text,
                    label=page["book"] % {"time": time_text, "name": column.practitioner},
                )
        items.sort(key=lambda item: (item["order"] == 0, item["at"], item["order"]))
        return items

    def booking_block(self, booking, lane, short, page, cls):
        """A booking's block: time, patient, service, visit type, status and arrival in words, and the button
        that marks the patient arrived (a POST carrying the version shown, like the booking page's buttons)."""
        start, end = local(booking.start), local(booking.end)
        classes = [f"cal-booking--{booking.status}"]
        if lane:
            classes.append("cal-booking--lane")
        if short:
            classes.append("cal-booking--short")
        if booking.arrived_at:
            classes.append("cal-booking--arrived")
        where = booking.get_visit_type_display()
        if booking.location and not booking.is_telehealth:
            where = f"{where} · {booking.location.name}"
        arrived = arrival_label(booking)
        form = ""
        url = f"{page['bookings_url']}{booking.pk}/"
        if page["may_book"] and may_arrive(booking, page["now"]):
            form = format_html(
                '<form method="post" action="{}" class="cal-booking__form">'
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                '<input type="hidden" name="version" value="{}"><input type="hidden" name="next" value="{}">'
                '<button type="submit" class="cal-booking__arrive">{}<span class="visually-hidden">: {}, {}</span>'
                "</button></form>",
                f"{url}do/arrive/",
                page["csrf_token"],
                booking.version,
                page["here"],
                page["mark_arrived"],
                booking.patient.name,
                f"{start:%H:%M}",
            )
        return format_html(
            '<div class="cal-booking {} {}"><a href="{}" class="cal-booking__link">'
            '<span class="cal-booking__time">{}–{}</span> <strong class="cal-booking__patient">{}</strong> '
            '<span class="cal-booking__ref">{}</span> '
            '<span class="cal-booking__service">{} · {}</span> '
            '<span class="booking-status booking-status--{}">{}</span>{}{}</a>{}</div>',
            " ".join(classes),
            cls,
            f"{url}change/",
            f"{start:%H:%M}",
            f"{end:%H:%M}",
            booking.patient.name,
            booking.reference,
            booking.service.name,
            where,
            booking.status,
            booking.get_status_display(),
            format_html(' <span class="booking-arrived">{}</span>', arrived) if arrived else "",
            # The intake form's state and screening flags (never an answer), as on every staff calendar block.
            format_html(" {}", render_to_string(INTAKE_BADGE, intake_badge(booking))) if booking.intake_summary else "",
            form,
        )

    # The pages -----------------------------------------------------------------------------------------------

    def schedule_day_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        day, date_error = requested_day(request)
        bookings = self.schedule_bookings(request, local_midnight(day), local_midnight(day + timedelta(days=1)))
        practitioners = self.schedule_practitioners(
            request, weekdays=[day.weekday()], booked_ids={b.practitioner_id for b in bookings}
        )
        specs = [(p, day) for p in practitioners]
        grids = [self.calendar(request, chunk, bookings, day, day) for chunk in timegrid.chunks(specs)] if specs else []
        shown = [b for b in bookings if local(b.start).date() == day]
        today = timezone.localdate(timezone=clinic_tz())
        context = self.schedule_context(
            request,
            gettext("Calendar for %(day)s") % {"day": date_format(day, "l j F Y")},
            day=day,
            is_today=day == today,
            practitioners=practitioners,
            grids=grids,
            total=len(shown),
            date_error=date_error,
            previous=(day - timedelta(days=1)).isoformat(),
            next=(day + timedelta(days=1)).isoformat(),
            today=today.isoformat(),
            view="day",
        )
        record_bulk_read(request, BulkAccess.View.SCHEDULE_DAY, len(shown))
        return TemplateResponse(request, "admin/booking/booking/schedule_day.html", context)

    def schedule_week_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        day, date_error = requested_day(request)
        monday = day - timedelta(days=day.weekday())
        days = [monday + timedelta(days=i) for i in range(7)]
        practitioners = self.schedule_practitioners(request)
        chosen, practitioner_error = None, ""
        wanted = request.GET.get("practitioner", "").strip()
        if wanted:
            chosen = next((p for p in practitioners if str(p.pk) == wanted), None)
            if chosen is None:
                practitioner_error = gettext("Choose a practitioner from the list.")
        if chosen is None and practitioners:
            chosen = practitioners[0]
        start, end = local_midnight(monday), local_midnight(monday + timedelta(days=7))
        bookings = self.schedule_bookings(request, start, end, practitioner_id=chosen.pk) if chosen else []
        grid = self.calendar(request, [(chosen, d) for d in days], bookings, monday, days[-1]) if chosen else None
        shown = [b for b in bookings if monday <= local(b.start).date() <= days[-1]]
        today = timezone.localdate(timezone=clinic_tz())
        title = gettext("Week of %(day)s") % {"day": date_format(monday, "j F Y")}
        if chosen:
            title = gettext("%(name)s: week of %(day)s") % {"name": chosen, "day": date_format(monday, "j F Y")}
        context = self.schedule_context(
            request,
            title,
            day=monday,
            practitioners=practitioners,
            chosen=chosen,
            grids=[grid] if grid else [],
            days=[{"date": d, "iso": d.isoformat(), "is_today": d == today} for d in days],
            total=len(shown),
            date_error=date_error,
            practitioner_error=practitioner_error,
            previous=(monday - timedelta(days=7)).isoformat(),
            next=(monday + timedelta(days=7)).isoformat(),
            today=today.isoformat(),
            view="week",
        )
        record_bulk_read(request, BulkAccess.View.SCHEDULE_WEEK, len(shown))
        return TemplateResponse(request, "admin/booking/booking/schedule_week.html", context)

    def schedule_css_view(self, request):
        """The calendar's position classes (see timegrid.grid_css): the same bytes for everyone."""
        return HttpResponse(timegrid.grid_css(), content_type="text/css; charset=utf-8")


# --- Admin index ---------------------------------------------------------------------------------


def front_desk_counts(now=None, bookings=None):
    """Today's and tomorrow's bookings and the requests waiting for review: one aggregate query."""
    now = now or timezone.now()
    bookings = Booking.objects.all() if bookings is None else bookings
    today = timezone.localdate(now, timezone=clinic_tz())
    edges = [local_midnight(today + timedelta(days=i)) for i in range(3)]
    shown = ~Q(status__in=HIDDEN_IN_SCHEDULE)
    return bookings.aggregate(
        today=Count("pk", filter=shown & Q(start__gte=edges[0], start__lt=edges[1])),
        tomorrow=Count("pk", filter=shown & Q(start__gte=edges[1], start__lt=edges[2])),
        waiting=Count("pk", filter=Q(status=BookingStatus.REQUESTED, start__gte=now)),
    )


def front_desk_index_context(request):
    """The admin index's front-desk panel (only for staff who may see bookings)."""
    if not request.user.has_perm("booking.view_booking"):
        return {}
    tomorrow = timezone.localdate(timezone=clinic_tz()) + timedelta(days=1)
    day_url = reverse("admin:booking_booking_schedule_day")
    return {
        "front_desk": {
            **front_desk_counts(bookings=Booking.objects.visible_to(request.user)),
            "day_url": day_url,
            "tomorrow_url": f"{day_url}?date={tomorrow.isoformat()}",
            "week_url": reverse("admin:booking_booking_schedule_week"),
            "waiting_url": reverse("admin:booking_booking_changelist") + "?status__exact=requested&when=upcoming",
        }
    }
