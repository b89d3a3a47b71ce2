"""The front desk's schedule: a day view (a column per practitioner, a row per hour), a week view
(a row per practitioner, a column per day), and the counts on the admin index page."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from clinic.datetimes import clinic_tz, local, local_midnight
from clinic.models import Practitioner

from ..forms import parse_date
from ..intake.access import record_flags_read, summaries_for
from ..models import Booking, BookingStatus, BulkAccess
from .audit import record_bulk_read
from .common import HIDDEN_IN_SCHEDULE, change_url


def _requested_day(request):
    return parse_date(request.GET.get("date")) or timezone.localdate(timezone=clinic_tz())


class ScheduleMixin:
    """BookingAdmin's day and week schedule pages."""

    def schedule_bookings(self, request, start, end):
        bookings = list(
            self.get_queryset(request)
            .filter(start__gte=start, start__lt=end)
            .exclude(status__in=HIDDEN_IN_SCHEDULE)
            .select_related("service", "location")
            .order_by("start", "pk")
        )
        # Each block says whether its intake form is complete and shows screening flags, never an answer
        # (two queries for the whole page; showing flags is recorded as one bulk read of health information).
        intake = summaries_for(bookings)
        for booking in bookings:
            booking.local_start = local(booking.start)
            booking.local_end = local(booking.end)
            booking.admin_url = change_url(booking)
            booking.intake_summary = intake.get(booking.pk, ())
        record_flags_read(request.user, sum(1 for summary in intake.values() if summary[2]))
        return bookings

    def schedule_practitioners(self, request, bookings):
        ids = {b.practitioner_id for b in bookings}
        practitioners = Practitioner.objects.filter(Q(is_active=True) | Q(pk__in=ids))
        if not request.user.has_perm("booking.change_booking"):
            practitioners = practitioners.filter(user=request.user)  # a practitioner's own column only
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
            **extra,
        }

    def schedule_day_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        day = _requested_day(request)
        bookings = self.schedule_bookings(request, local_midnight(day), local_midnight(day + timedelta(days=1)))
        practitioners = self.schedule_practitioners(request, bookings)
        first = min([8, *(b.local_start.hour for b in bookings)])
        last = max([18, *((b.local_end.hour + (1 if b.local_end.minute else 0)) for b in bookings)])
        if any(b.local_end.date() != day for b in bookings):
            last = 24
        column = {p.pk: i for i, p in enumerate(practitioners)}
        rows = []
        for hour in range(first, last):
            cells = [[] for _p in practitioners]
            for booking in bookings:
                if booking.local_start.hour == hour:
                    cells[column[booking.practitioner_id]].append(booking)
            rows.append({"label": f"{hour:02d}:00", "cells": cells})
        context = self.schedule_context(
            request,
            gettext("Schedule for %(day)s") % {"day": date_format(day, "l j F Y")},
            day=day,
            practitioners=practitioners,
            rows=rows,
            total=len(bookings),
            previous=(day - timedelta(days=1)).isoformat(),
            next=(day + timedelta(days=1)).isoformat(),
            today=timezone.localdate(timezone=clinic_tz()).isoformat(),
        )
        record_bulk_read(request, BulkAccess.View.SCHEDULE_DAY, len(bookings))
        return TemplateResponse(request, "admin/booking/booking/schedule_day.html", context)

    def schedule_week_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        day = _requested_day(request)
        monday = day - timedelta(days=day.weekday())
        days = [monday + timedelta(days=i) for i in range(7)]
        bookings = self.schedule_bookings(request, local_midnight(monday), local_midnight(monday + timedelta(days=7)))
        practitioners = self.schedule_practitioners(request, bookings)
        index = {d: i for i, d in enumerate(days)}
        rows = []
        for practitioner in practitioners:
            cells = [[] for _d in days]
            for booking in bookings:
                if booking.practitioner_id == practitioner.pk:
                    cells[index[booking.local_start.date()]].append(booking)
            rows.append({"practitioner": practitioner, "cells": cells})
        today = timezone.localdate(timezone=clinic_tz())
        context = self.schedule_context(
            request,
            gettext("Week of %(day)s") % {"day": date_format(monday, "j F Y")},
            days=[{"date": d, "iso": d.isoformat(), "is_today": d == today} for d in days],
            rows=rows,
            total=len(bookings),
            previous=(monday - timedelta(days=7)).isoformat(),
            next=(monday + timedelta(days=7)).isoformat(),
            today=today.isoformat(),
        )
        record_bulk_read(request, BulkAccess.View.SCHEDULE_WEEK, len(bookings))
        return TemplateResponse(request, "admin/booking/booking/schedule_week.html", context)


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
