import logging
import sys

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template import loader
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.generic import DetailView, ListView, TemplateView

from . import registry
from .cache_headers import public_page
from .facts import ClinicFacts, cached_facts, get_facts
from .models import Practitioner
from .seo import clinic_json_ld

logger = logging.getLogger(__name__)


@method_decorator(public_page, name="dispatch")
class TeamView(ListView):
    template_name = "clinic/team.html"
    context_object_name = "practitioners"

    def get_queryset(self):
        return Practitioner.objects.active().prefetch_related("treatments")


@method_decorator(public_page, name="dispatch")
class PractitionerView(DetailView):
    template_name = "clinic/practitioner.html"
    context_object_name = "practitioner"

    def get_object(self, queryset=None):
        return get_object_or_404(Practitioner.objects.active().prefetch_related("treatments"), slug=self.kwargs["slug"])


@method_decorator(public_page, name="dispatch")
class ContactView(TemplateView):
    template_name = "clinic/contact.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["clinic_json_ld"] = clinic_json_ld(get_facts(), self.request)
        return ctx


@method_decorator(public_page, name="dispatch")
class PrivacyView(TemplateView):
    template_name = "clinic/privacy.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["retention_months"] = getattr(settings, "BOOKING_RETENTION_MONTHS", 24)
        return ctx


@method_decorator(public_page, name="dispatch")
class PatientPageView(TemplateView):
    """A patient information page (first visit, accessibility, telehealth): a template and the clinic's facts."""


@never_cache
def healthz(request):
    """Health for the load balancer: 503 only when this instance cannot serve (no database).

    The shared cache is optional to serving (every cache use degrades to "no cache"), so a cache outage
    answers 200 with "degraded" in the body, and is logged: taking every instance out of the pool because
    the shared cache failed would turn a slowdown into an outage.
    """
    status = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  (any failure means unhealthy)
        logger.error("healthz: database unreachable (%s)", type(exc).__name__)
        status["database"] = "error"
    try:
        cache.set("healthz", "1", 10)
        status["cache"] = "ok" if cache.get("healthz") == "1" else "error"
    except Exception:  # noqa: BLE001
        status["cache"] = "error"
    if status["cache"] != "ok":
        logger.warning("healthz: shared cache unavailable; serving without it (degraded)")
    if status["database"] != "ok":
        status["status"] = "error"
    else:
        status["status"] = "ok" if status["cache"] == "ok" else "degraded"
    return JsonResponse(status, status=503 if status["status"] == "error" else 200)


def _safe_facts():
    """Facts for error pages: from the cache if possible, never raising."""
    try:
        return cached_facts() or get_facts()
    except Exception:  # noqa: BLE001  (the database may be the reason we are here)
        return ClinicFacts(profile=None)


def server_error(request, template_name="500.html"):
    # A database outage raised outside a view (e.g. in middleware) still gets the friendly 503.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return service_unavailable(request)
    template = loader.get_template(template_name)
    body = template.render({"clinic": _safe_facts(), "request": request})
    return HttpResponse(body, status=500)


def service_unavailable(request):
    template = loader.get_template("503.html")
    body = template.render({"clinic": _safe_facts(), "request": request})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = "60"
    return response


def try_again(request):
    """A request that lost a database race (deadlock, serialization failure): nothing was saved."""
    body = loader.get_template("409.html").render({"clinic": _safe_facts(), "request": request})
    return HttpResponse(body, status=409)


@public_page
def robots_txt(request):
    # The admin's address is a secret (ADMIN_URL): it is never listed here. Admin pages say "noindex"
    # in their own X-Robots-Tag header instead (SecurityHeadersMiddleware).
    lines = [
        "User-agent: *",
        *(f"Disallow: {path}" for path in registry.robots_disallowed()),
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain")
