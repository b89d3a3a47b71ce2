"""The patient information pages that describe the booking rules: fees and the cancellation policy.

Both read the late-cancellation window from BOOKING_CANCEL_NOTICE_HOURS, the setting
`Booking.patient_can_change` enforces, so the policy a patient reads is the one the site applies."""

from django.conf import settings
from django.utils.decorators import method_decorator
from django.views.generic import TemplateView

from clinic.cache_headers import public_page

from .models import Service


class PolicyPageMixin:
    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["cancel_notice_hours"] = settings.BOOKING_CANCEL_NOTICE_HOURS
        return ctx


@method_decorator(public_page, name="dispatch")
class FeesView(PolicyPageMixin, TemplateView):
    template_name = "booking/patients/fees.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["services"] = Service.objects.active().order_by("order", "name")
        return ctx


@method_decorator(public_page, name="dispatch")
class CancellationPolicyView(PolicyPageMixin, TemplateView):
    template_name = "booking/patients/cancellation.html"
