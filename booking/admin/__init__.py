"""Scheduling and the front desk's booking workflow in Django admin, one module per purpose:

- ``registrations``: what is registered (services, hours, time off, closures, bookings, access log, outbox);
- ``bookings``: the booking list and a booking's page;
- ``frontdesk``: the buttons, action pages and list actions that change bookings (through booking.workflow);
- ``schedule``: the day and week schedule and the front desk's counts on the admin index;
- ``export``: CSV export; ``forms`` and ``common``: what these share.
"""

from . import registrations  # noqa: F401  (registers the models with the admin site)
