from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingConfig(AppConfig):
    name = "booking"
    verbose_name = _("Bookings")

    def ready(self):
        from django.urls import reverse

        from articles import services
        from clinic import registry

        from . import signals
        from .models import Service

        signals.connect()
        services.provide(Service.objects.for_treatment)
        registry.add_link("book", lambda: reverse("booking:request"))
        # The booking pages are personal or thin: kept out of search indexes.
        registry.disallow_in_robots(lambda: reverse("booking:request"))
        # A patient's private link is a credential: its token never reaches a log.
        registry.redact_after(lambda: reverse("booking:manage", kwargs={"token": "-"})[:-2])
