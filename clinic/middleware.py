"""Security headers that Django's SecurityMiddleware does not set itself, compression, and fault handling."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponseBadRequest
from django.middleware.gzip import GZipMiddleware

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


class SharedPageGZipMiddleware(GZipMiddleware):
    """Django's gzip for shareable responses only, never one that sets a cookie or is private/no-store/no-cache.

    BREACH needs a secret in a compressed page beside text an attacker controls: pages with a form token are
    private, no-store (clinic/cache_headers.py), so they go out uncompressed. What is compressed has no secret, so
    no random padding either: the bytes, and their strong ETag, stay the same from one response to the next."""

    max_random_bytes = 0

    def process_response(self, request, response):
        if response.cookies or response.streaming:
            return response
        cache_control = response.get("Cache-Control", "").lower()
        if any(word in cache_control for word in ("private", "no-store", "no-cache")):
            return response
        content_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if not (content_type.startswith("text/") or content_type.endswith(("+xml", "/xml", "json"))):
            return response
        return super().process_response(request, response)
