"""The clinic's admin site: Django's own, with a place for apps to add panels to the index page.

Apps contribute index context through ``add_index_context(provider)``; a provider takes the request
and returns a dict (empty when the user may not see that panel). The core names no app.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class ClinicAdminSite(admin.AdminSite):
    site_header = _("Clinic administration")
    site_title = _("Clinic admin")

    def __init__(self, name="admin"):
        super().__init__(name)
        self._index_context_providers = []

    def add_index_context(self, provider):
        if provider not in self._index_context_providers:
            self._index_context_providers.append(provider)

    def index(self, request, extra_context=None):
        context = {}
        for provider in self._index_context_providers:
            context.update(provider(request) or {})
        context.update(extra_context or {})
        return super().index(request, extra_context=context)
