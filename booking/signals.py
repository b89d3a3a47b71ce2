"""Keep cached availability and public pages honest: say which booking models change them."""

from clinic import caching

from .models import Booking, BookingPolicy, Closure, Service, TimeOff, WorkingHours
from .scheduling.availability import AVAILABILITY


def connect():
    from clinic.models import Practitioner

    # Free times depend on these; any change replaces the availability version.
    caching.bump_on_change(
        AVAILABILITY, (Booking, WorkingHours, TimeOff, Closure, Service, Service.practitioners.through, Practitioner)
    )
    # Treatment pages show services and who offers them; bookings never flush public pages.
    caching.bump_on_change(caching.CONTENT, (Service, Service.practitioners.through))
    caching.bump_on_change(BookingPolicy.CACHE_NAME, (BookingPolicy,))
