from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = _("Clinic")

    def ready(self):
        from . import signals  # noqa: F401  (cache invalidation on save)
        from .pagecache import connect_signals

        connect_signals()  # drop cached public pages when staff change what they show
