"""Security headers that Django's SecurityMiddleware does not set itself, and fault handling."""

import logging

import csp.middleware
from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_HEADER_RO
from csp.utils import build_policy as csp_build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.db import InterfaceError, OperationalError
from django.http import HttpResponseBadRequest

from . import db

logger = logging.getLogger(__name__)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/" + settings.ADMIN_URL):
            response.setdefault("X-Robots-Tag", "noindex, nofollow")
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if not getattr(response, "xframe_options_exempt", False):
            # XFrameOptionsMiddleware sets it for pages; this also covers static files served by whitenoise.
            response.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        return response


class DatabaseUnavailableMiddleware:
    """Database down: answer 503 with the branded page (and the clinic's phone from the cache), not a 500.

    `process_exception` sees exceptions raised by views and by the rendering of template responses. The
    response goes back out through every other middleware, so the 503 page carries the usual headers.
    /healthz handles database errors itself and answers its own JSON 503.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        from clinic.views import service_unavailable, try_again

        # Log the kind of failure only (driver class and SQLSTATE): the message may quote the query's values.
        kind = db.describe(exception)
        if db.is_lost_race(exception):
            # A deadlock or serialization failure: this request lost a race with another; not an outage.
            logger.warning("Lost a database race (%s) on %s %s", kind, request.method, request.path)
            return try_again(request)
        logger.error("Database unavailable (%s) on %s %s", kind, request.method, request.path)
        return service_unavailable(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RejectNullBytesMiddleware:
    """Answer 400 to a request whose path, query or form fields contain a NUL character.

    No real visitor sends one, and PostgreSQL refuses NUL in any text value, so a NUL that reached a query
    (a slug, a search, a filter) would otherwise be a 500. Form fields are checked (Django parses them for
    the CSRF check anyway); uploaded files are not.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_null(request):
            return HttpResponseBadRequest("Bad request", content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _has_null(request):
        if "\x00" in request.path:
            return True
        if _querydict_has_null(request.GET):
            return True
        if request.method == "POST" and request.content_type in FORM_TYPES:
            return _querydict_has_null(request.POST)
        return False


def _querydict_has_null(data):
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp, with the policy text built once per process: only the nonce differs between responses.

    django-csp rebuilds the header from the settings on every response (a noticeable share of a page-cache
    hit). Responses that change their policy (the decorators' ``_csp_*`` attributes) still go the long way.
    """

    _SLOT = "__csp_nonce_slot__"
    _OVERRIDES = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
    _built = {}

    @classmethod
    def forget(cls, **kwargs):
        cls._built.clear()

    def _policies(self, with_nonce):
        if with_nonce not in self._built:
            nonce = self._SLOT if with_nonce else None
            self._built[with_nonce] = (
                csp_build_policy(nonce=nonce),
                csp_build_policy(nonce=nonce, report_only=True),
            )
        return self._built[with_nonce]

    def process_response(self, request, response):
        if settings.DEBUG or any(hasattr(response, name) for name in self._OVERRIDES):
            return super().process_response(request, response)
        nonce = getattr(request, "_csp_nonce", None)
        policy, policy_ro = self._policies(nonce is not None)
        for header, text, exempt, setting in (
            (CSP_HEADER, policy, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (CSP_HEADER_RO, policy_ro, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            if not text or header in response or getattr(response, exempt, False):
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = text.replace(self._SLOT, nonce) if nonce else text
        if nonce is None:
            request.csp_nonce = csp.middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response


setting_changed.connect(CSPMiddleware.forget, dispatch_uid="clinic_csp_forget")
