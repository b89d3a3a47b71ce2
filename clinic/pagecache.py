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

Served early: ``PageCacheMiddleware`` (right after the security, CSP and static-file middleware) answers a hit
before sessions, authentication, messages, locale and URL resolution run, with the stored headers those would
have added. It also stores the entries the decorator prepared, with those final headers. Without the
middleware the decorator serves hits and stores entries itself.

Stored compressed: an entry holds the page gzip-compressed once (``clinic.compression.pack``) with a slot for
the nonce; a hit for a browser that accepts gzip splices the nonce in and compresses nothing.

One render after an edit: when a page's entry is missing or older than the content version, the first request
takes a short lock in the shared cache (``LOCK_SECONDS``) and renders; meanwhile other requests for that page,
on any instance, get the previous entry (``X-Page-Cache: stale``) or, when there is none, wait up to
``WAIT_SECONDS`` for the new one instead of rendering it too.

Headers on public pages: ``Cache-Control: public, max-age=PAGE_CACHE_MAX_AGE``, a weak ``ETag`` (the body
without its nonce, so it is stable across hits) and ``Last-Modified`` (when the entry was rendered); a
matching ``If-None-Match`` / ``If-Modified-Since`` gets a 304.
"""

import hashlib
import time
from functools import wraps

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)
from django.utils.http import http_date

from . import caching, compression

# The version every cached page is stored under; apps say which of their models change it with
# caching.bump_on_change(pagecache.CONTENT, models) in their AppConfig.ready().
CONTENT = "content"
VERSION_KEY = caching.version_key(CONTENT)
KEY_PREFIX = "pagecache:page:"
LOCK_PREFIX = "pagecache:lock:"
LOCK_SECONDS = 10  # longest a render may hold the lock (it is released as soon as the entry is stored)
WAIT_SECONDS = 2.0  # longest a request waits for another's render when there is no older entry to serve
NONCE_PLACEHOLDER = caching.NONCE_PLACEHOLDER.encode()

# Cookies that mean "this visitor may see something personal": sessions (staff) and flash messages.
_PERSONAL_COOKIES = ("messages",)
# Headers recomputed on every response, never stored.
# Headers recomputed for every response, never stored.
_UNSTORED_HEADERS = frozenset(
    {"cache-control", "expires", "etag", "last-modified", "set-cookie", "x-page-cache", "content-length",
     "content-encoding", "date", "content-security-policy", "content-security-policy-report-only"}
)  # fmt: skip


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


def _cache_key(request, allowed_params, language=None):
    """The key for this request, or None if it has query parameters the view does not read."""
    params = []
    for name, values in request.GET.lists():
        if allowed_params is not None and name not in allowed_params:
            return None
        params.extend((name, value) for value in values)
    params.sort()
    language = language or translation.get_language() or ""
    raw = "|".join([request.scheme, request.get_host(), request.path, repr(params), language])
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


def _entry(request, response):
    """What is stored for a rendered page: compressed once, with a slot for the nonce."""
    body = caching.nonce_out(response.content, request)
    nonce = getattr(request, "_csp_nonce", None)
    packed = compression.pack(body, NONCE_PLACEHOLDER, len(nonce.encode()) if isinstance(nonce, str) else 0)
    if packed is None:
        return None
    headers = [(k, v) for k, v in response.items() if k.lower() not in _UNSTORED_HEADERS]
    return {"packed": packed, "headers": headers, "etag": _etag(body), "rendered_at": time.time()}


def _serve(request, entry, state):
    """A response for a stored entry, gzip-compressed when the browser accepts it."""
    packed = entry["packed"]
    nonce = str(request.csp_nonce).encode() if packed["gap"] else b""
    if compression.accepts_gzip(request):
        response = HttpResponse(compression.gzip_with(packed, nonce))
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(compression.plain_with(packed, nonce))
    for name, value in entry["headers"]:
        response[name] = value
    patch_vary_headers(response, ("Accept-Encoding",))
    response["Content-Length"] = str(len(response.content))
    response["X-Page-Cache"] = state
    return _public(request, response, entry["etag"], entry["rendered_at"])


def _lookup(key):
    """(fresh entry or None, stale entry or None, current version token)."""
    found = caching.get_many([VERSION_KEY, key])
    token = caching.version(CONTENT, found)
    stored = found.get(key)
    if not (isinstance(stored, tuple) and len(stored) == 2 and isinstance(stored[1], dict) and "packed" in stored[1]):
        return None, None, token
    return (stored[1], None, token) if stored[0] == token else (None, stored[1], token)


def _wait_for(key):
    """Another request is rendering this page: wait for its entry (None after WAIT_SECONDS)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.02)
        entry, _token = caching.get_versioned(CONTENT, key)
        if entry is not None and "packed" in entry:
            return entry
    return None


def _store(key, token, entry, lock):
    caching.set_versioned(key, entry, token, _entry_seconds())
    caching.delete(lock)


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
            lock = None
            if key is not None:
                entry, stale, token = _lookup(key)
                request._content_version = token  # for {% fragment %}: no second round trip
                if entry is not None:
                    return _serve(request, entry, "hit")
                lock = LOCK_PREFIX + key[len(KEY_PREFIX) :] + ":" + token
                if not caching.add(lock, 1, LOCK_SECONDS):
                    # Someone else is rendering this page right now: do not render it a second time.
                    if stale is not None:
                        return _serve(request, stale, "stale")
                    entry = _wait_for(key)
                    if entry is not None:
                        return _serve(request, entry, "hit")
                    lock = None  # waited long enough: render without the lock
            try:
                response = _render(view_func(request, *args, **kwargs))
                entry = _entry(request, response) if _storable(request, response) else None
            except BaseException:
                if lock:
                    caching.delete(lock)
                raise
            if entry is None:
                if lock:
                    caching.delete(lock)
                if not _storable(request, response):
                    response["X-Page-Cache"] = "bypass"
                    return response
                response["X-Page-Cache"] = "off"  # storable but not packable (a NUL byte): sent as rendered
                return _public(request, response, _etag(caching.nonce_out(response.content, request)), time.time())
            if key is None:
                return _serve(request, entry, "off")
            served = _serve(request, entry, "miss")
            if getattr(request, "_page_cache_middleware", False):
                served._page_cache_pending = (key, token, entry, lock)  # stored by the middleware, headers final
            else:
                _store(key, token, entry, lock)
            return served

        return wrapper

    return decorator(view) if view is not None else decorator


class PageCacheMiddleware:
    """Serve page-cache hits before the rest of the middleware runs; store new entries with final headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_enabled() and not _is_personal(request):
            try:
                # One language: no need to read cookies and Accept-Language (what LocaleMiddleware would pick).
                language = (
                    translation.get_supported_language_variant(settings.LANGUAGE_CODE)
                    if len(settings.LANGUAGES) == 1
                    else translation.get_language_from_request(request)
                )
                key = _cache_key(request, None, language)
            except DisallowedHost:
                key = None  # Django answers 400 further in
            if key is not None:
                entry, _token = caching.get_versioned(CONTENT, key)
                if entry is not None and "packed" in entry:
                    return _serve(request, entry, "hit")
        request._page_cache_middleware = True
        response = self.get_response(request)
        pending = getattr(response, "_page_cache_pending", None)
        if pending is not None and response.status_code == 200 and not response.cookies:
            key, token, entry, lock = pending
            entry = {**entry, "headers": [(k, v) for k, v in response.items() if k.lower() not in _UNSTORED_HEADERS]}
            _store(key, token, entry, lock)
        elif pending is not None and pending[3]:
            caching.delete(pending[3])
        return response
