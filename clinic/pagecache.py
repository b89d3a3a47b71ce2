"""Public pages cached whole in the shared cache, and dropped as soon as staff change what they show.

Use ``cache_public_page`` on a public view (``method_decorator(cache_public_page, name="dispatch")`` on a class
view, or ``cache_public_page(query=("q", "page"))`` for a view that reads query parameters).

What is cached: the rendered body of a 200 response to an anonymous GET or HEAD, keyed on scheme, host, path,
the view's own query parameters and the language. Everything else is served as usual and never stored:

* requests with a session or messages cookie (anyone logged in, staff previewing drafts), or an
  Authorization header; non-GET/HEAD requests: rendered fresh, marked ``Cache-Control: private``;
* requests with query parameters the view does not read (``?utm_source=…``): rendered fresh, so nobody can
  fill the cache with junk keys or pin a reflected value into a shared page;
* responses that are not 200, are streamed, set a cookie, used the CSRF token or wrote to the session, or say
  ``private`` / ``no-store`` / ``no-cache`` themselves (draft previews).

Invalidation: every cached entry records the site's *content version* (``caching`` version ``CONTENT``).
Each app registers the models public pages show in its ``AppConfig.ready()``
(``caching.bump_on_change(pagecache.CONTENT, models)``); saving or deleting one replaces the token, immediately
and again when the transaction commits, so the next request renders afresh on every server instance. An entry
also expires after ``PAGE_CACHE_SECONDS``, which bounds how late a scheduled article appears.

CSP nonces: pages carry ``nonce="…"`` on their JSON-LD scripts, unique per response. The stored body holds a
placeholder instead, and each hit gets the current request's nonce, so the body always matches the
``Content-Security-Policy`` header that the CSP middleware writes for that response.

Headers on public pages: ``Cache-Control: public, max-age=PAGE_CACHE_MAX_AGE``, a weak ``ETag`` (the body
without its nonce, so it is stable across hits) and ``Last-Modified`` (when the entry was rendered); a
matching ``If-None-Match`` / ``If-Modified-Since`` gets a 304.
"""

import hashlib
import time
from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import add_never_cache_headers, get_conditional_response, patch_cache_control
from django.utils.http import http_date

from . import caching

# The version every cached page is stored under; apps say which of their models change it with
# caching.bump_on_change(pagecache.CONTENT, models) in their AppConfig.ready().
CONTENT = "content"
VERSION_KEY = caching.version_key(CONTENT)
KEY_PREFIX = "pagecache:page:"
NONCE_PLACEHOLDER = caching.NONCE_PLACEHOLDER.encode()

# Cookies that mean "this visitor may see something personal": sessions (staff) and flash messages.
_PERSONAL_COOKIES = ("messages",)
# Headers recomputed on every response, never stored.
_UNSTORED_HEADERS = {"cache-control", "expires", "etag", "last-modified", "set-cookie", "vary", "x-page-cache"}


def is_enabled():
    return getattr(settings, "PAGE_CACHE_ENABLED", True)


def _entry_seconds():
    return getattr(settings, "PAGE_CACHE_SECONDS", 600)


def _max_age():
    return getattr(settings, "PAGE_CACHE_MAX_AGE", 300)


def invalidate():
    """Forget every cached page (on every server instance sharing the cache)."""
    caching.bump(CONTENT)


# --- The decorator ---------------------------------------------------------------------------------------------


def _is_personal(request):
    if request.method not in ("GET", "HEAD"):
        return True
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or any(name in cookies for name in _PERSONAL_COOKIES):
        return True
    return "HTTP_AUTHORIZATION" in request.META


def _cache_key(request, allowed_params):
    """The key for this request, or None if it has query parameters the view does not read."""
    params = []
    for name, values in request.GET.lists():
        if name not in allowed_params:
            return None
        params.extend((name, value) for value in values)
    params.sort()
    raw = "|".join([request.scheme, request.get_host(), request.path, repr(params), translation.get_language() or ""])
    return KEY_PREFIX + hashlib.sha256(raw.encode()).hexdigest()


def _storable(request, response):
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return False  # the page holds a CSRF token
    session = getattr(request, "session", None)
    if session is not None and session.modified:
        return False
    cache_control = response.get("Cache-Control", "").lower()
    return not any(word in cache_control for word in ("private", "no-store", "no-cache"))


def _etag(normalised_body):
    return 'W/"' + hashlib.sha256(normalised_body).hexdigest()[:32] + '"'


def _public(request, response, etag, last_modified):
    """Public caching headers, then a 304 when the client's copy is current."""
    patch_cache_control(response, public=True, max_age=_max_age())
    response["ETag"] = etag
    if not response.has_header("Last-Modified"):
        response["Last-Modified"] = http_date(last_modified)
    return get_conditional_response(request, etag=etag, last_modified=int(last_modified), response=response)


def _render(response):
    if hasattr(response, "render") and callable(response.render) and not response.is_rendered:
        response.render()
    return response


def cache_public_page(view=None, *, query=()):
    """Cache a public view's page in the shared cache (see the module docstring)."""
    allowed_params = frozenset(query)

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if _is_personal(request):
                response = view_func(request, *args, **kwargs)
                if not response.has_header("Cache-Control"):
                    add_never_cache_headers(response)  # private, and never reused from a browser cache
                response["X-Page-Cache"] = "bypass"
                return response

            key = _cache_key(request, allowed_params) if is_enabled() else None
            version = None
            if key is not None:
                entry, version = caching.get_versioned(CONTENT, key)
                if entry is not None:
                    response = HttpResponse(caching.nonce_in(entry["body"], request))
                    for name, value in entry["headers"]:
                        response[name] = value
                    response["X-Page-Cache"] = "hit"
                    return _public(request, response, entry["etag"], entry["rendered_at"])

            response = _render(view_func(request, *args, **kwargs))
            if not _storable(request, response):
                response["X-Page-Cache"] = "bypass"
                return response
            body = caching.nonce_out(response.content, request)
            etag, rendered_at = _etag(body), time.time()
            if key is not None:
                headers = [(k, v) for k, v in response.items() if k.lower() not in _UNSTORED_HEADERS]
                entry = {"body": body, "headers": headers, "etag": etag, "rendered_at": rendered_at}
                caching.set_versioned(key, entry, version, _entry_seconds())
                response["X-Page-Cache"] = "miss"
            else:
                response["X-Page-Cache"] = "off"
            return _public(request, response, etag, rendered_at)

        return wrapper

    return decorator(view) if view is not None else decorator
