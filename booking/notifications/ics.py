"""The .ics file attached to confirmation, move and cancellation emails.

One stable UID per booking and a SEQUENCE that grows with every change, so a patient's calendar
updates the same event when it is moved and removes it when it is cancelled.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from clinic import datetimes


def booking_ics(booking, *, cancel=False):
    return calendar_file([booking], cancel=cancel)


def calendar_file(bookings, *, cancel=False):
    """One calendar file with an event per booking (a course's visits share one file, one UID each)."""
    tz = datetimes.clinic_tz()
    cal = Calendar()
    cal.add("prodid", "-//Clinic booking//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "PUBLISH")
    host = settings.SITE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "clinic.local"
    for booking in bookings:
        cal.add_component(_event(booking, cancel, host, tz))
    # Only the rules around the appointments: a VTIMEZONE back to 1970 would bloat every email.
    days = [booking.start.astimezone(tz).date() for booking in bookings]
    cal.add_missing_timezones(first_date=min(days) - timedelta(days=366), last_date=max(days) + timedelta(days=366))
    return cal.to_ical().decode("utf-8")


def _event(booking, cancel, host, tz):
    event = Event()
    event.add("uid", f"booking-{booking.reference}@{host}")
    event.add("sequence", booking.ics_sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", booking.start.astimezone(tz))
    event.add("dtend", booking.end.astimezone(tz))
    event.add("summary", f"{booking.service.name}")
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    if booking.is_telehealth:
        link = booking.video_link
        event.add("location", link or "Telehealth (video)")
        event.add("description", f"Video link: {link}" if link else "Video link to follow by email.")
    elif booking.location:
        event.add("location", f"{booking.location.name}, {booking.location.one_line}")
    return event
