from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "booking.intake"
    label = "intake"
    verbose_name = _("Health information")

    def ready(self):
        from django.urls import reverse

        from clinic import registry

        from . import checks  # noqa: F401  (registers the deploy check for the encryption key)

        # The form link is a credential (with the date of birth): its token never reaches a log.
        registry.redact_after(lambda: reverse("intake:gate", kwargs={"token": "-"})[:-2])
        registry.disallow_in_robots(lambda: reverse("intake:gate", kwargs={"token": "-"})[:-2])
