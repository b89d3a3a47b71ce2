"""A small clinic for waitlist tests: one practitioner working 9:00–11:00, a 60-minute service, and Thursday
5 March 2026 fully booked (9:00 and 10:00), so a cancellation frees exactly one time."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from booking.models import BookingStatus, VisitType
from booking.waitlist.models import WaitlistEntry
from tests.factories import make_booking, make_clinic, make_practitioner, make_service

TZ = ZoneInfo("America/Toronto")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # a Monday morning
DAY = date(2026, 3, 5)  # the Thursday the patients wait for
NINE = datetime(2026, 3, 5, 9, 0, tzinfo=TZ)
TEN = datetime(2026, 3, 5, 10, 0, tzinfo=TZ)


class WaitlistClinic:
    def __init__(self):
        _, self.location = make_clinic()
        self.pat = make_practitioner("Pat Lee", location=self.location, telehealth=False, hours={"clinic": (9, 11)})
        self.service = make_service([self.pat], telehealth=False)
        self.nine = make_booking(self.pat, self.service, NINE, location=self.location, status=BookingStatus.CONFIRMED)
        self.ten = make_booking(self.pat, self.service, TEN, location=self.location, status=BookingStatus.CONFIRMED)

    def entry(self, name, *, waited_days=1, urgent=False, **fields):
        values = {
            "service": self.service,
            "visit_type": VisitType.IN_CLINIC,
            "location": self.location,
            "days": "3",  # Thursday
            "parts": "morning",
            "until": DAY,
            "name": name,
            "email": f"{name.lower()}@example.com",
            "phone": "+14165550123",
            "urgent": urgent,
            "created": timezone.now() - timedelta(days=waited_days),
        }
        values.update(fields)
        return WaitlistEntry.objects.create(**values)
