"""CSV export from the booking list: the selected rows (a list action) or the whole filtered list."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import exports
from ..models import BulkAccess
from .audit import record_bulk_read


class ExportMixin:
    """BookingAdmin's export: only for staff with ``booking.export_booking``."""

    def has_export_permission(self, request):
        return request.user.has_perm("booking.export_booking")

    def export_view(self, request):
        """The changelist's current filters, search and ordering, as CSV."""
        if not (self.has_view_permission(request) and self.has_export_permission(request)):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            messages.error(request, gettext("These filters are not valid; nothing was exported."))
            return HttpResponseRedirect(reverse("admin:booking_booking_changelist"))
        queryset = changelist.get_queryset(request)
        record_bulk_read(request, BulkAccess.View.EXPORT, queryset.count())
        return exports.bookings_csv_response(queryset)

    @admin.action(description=_("Export selected bookings as CSV"), permissions=["export"])
    def export_csv(self, request, queryset):
        references = sorted(queryset.values_list("reference", flat=True))
        record_bulk_read(request, BulkAccess.View.EXPORT, len(references), "selected: " + ", ".join(references))
        return exports.bookings_csv_response(queryset.select_related(*self.list_select_related))
