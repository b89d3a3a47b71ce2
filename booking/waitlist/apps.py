from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitlistConfig(AppConfig):
    name = "booking.waitlist"
    label = "waitlist"
    verbose_name = _("Waitlist")

    def ready(self):
        from django.urls import reverse

        from clinic import caching, registry

        from ..notifications import outbox
        from ..scheduling.availability import AVAILABILITY
        from . import offers
        from .models import WaitlistOffer

        # A held time is hidden from the public picker: a new or changed offer changes free times.
        caching.bump_on_change(AVAILABILITY, (WaitlistOffer,))
        # An offer email still queued when its offer has ended (taken, expired) is not sent.
        outbox.register_still_wanted(offers.OFFER_EMAIL, offers.offer_email_still_wanted)
        # The links in waitlist emails are credentials: their tokens never reach a log (/book/ is kept out of robots).
        registry.redact_after(lambda: reverse("waitlist:leave", kwargs={"token": "-"})[:-2])
        registry.redact_after(lambda: reverse("waitlist:offer", kwargs={"token": "-"})[:-2])
