from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = _("Clinic")

    def ready(self):
        from . import caching, checks  # noqa: F401  (checks registers the system checks)
        from .facts import FACTS
        from .models import ClinicProfile, Location, OpeningHours

        caching.bump_on_change(FACTS, (ClinicProfile, Location, OpeningHours))
        # Public pages show every clinic model (facts, practitioners and their links).
        caching.bump_on_change(caching.CONTENT, self.get_models(include_auto_created=True))


class ClinicAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the clinic's site (index panels contributed by the apps)."""

    default = False  # ClinicConfig stays the "clinic" app's config
    default_site = "clinic.admin_site.ClinicAdminSite"
