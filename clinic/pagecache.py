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

Invalidation: every cached entry records the site's *content version*, a random token kept in the cache under
``VERSION_KEY``. Saving or deleting anything a public page shows (every model of the clinic and articles apps,
and booking's Service) replaces the token, immediately and again when the transaction commits, so the next
request renders afresh on every server instance. Signals are matched by model label, so the core imports
neither app. An entry also expires after ``PAGE_CACHE_SECONDS``, which bounds how late a scheduled article
appears.

CSP nonces: pages carry ``nonce="…"`` on their JSON-LD scripts, unique per response. The stored body holds a
placeholder instead, and each hit gets the current request's nonce, so the body always matches the
``Content-Security-Policy`` header that the CSP middleware writes for that response.

Headers on public pages: ``Cache-Control: public, max-age=PAGE_CACHE_MAX_AGE``, a weak ``ETag`` (the body
without its nonce, so it is stable across hits) and ``Last-Modified`` (when the entry was rendered); a
matching ``If-None-Match`` / ``If-Modified-Since`` gets a 304.
"""

import hashlib
import time
import uuid
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import add_never_cache_headers, get_conditional_response, patch_cache_control
from django.utils.http import http_date

VERSION_KEY = "pagecache:version"
KEY_PREFIX = "pagecache:page:"
NONCE_PLACEHOLDER = b"__pagecache_csp_nonce__"

# What public pages show: all models of these apps, plus these models of other apps (app_label.model_name).
# Labels rather than imports, so that the core never imports articles or booking.
WATCHED_APPS = frozenset({"clinic", "articles"})
WATCHED_MODELS = frozenset({"booking.service", "booking.service_practitioners"})

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


# --- Content version -------------------------------------------------------------------------------------------


def _new_version():
    return uuid.uuid4().hex


def invalidate():
    """Forget every cached page (on every server instance sharing the cache)."""
    cache.set(VERSION_KEY, _new_version(), None)


def _current_version(found):
    version = found.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _new_version(), None)
        version = cache.get(VERSION_KEY) or _new_version()
    return version


def _watched(sender):
    meta = getattr(sender, "_meta", None)
    return meta is not None and (meta.app_label in WATCHED_APPS or meta.label_lower in WATCHED_MODELS)


def content_changed(sender, **kwargs):
    """Signal receiver: a watched model was saved, deleted or had its many-to-many links changed."""
    action = kwargs.get("action")
    if action is not None and not action.startswith("post_"):
        return  # m2m_changed: act once, after the change
    if not _watched(sender):
        return
    invalidate()
    # Again after commit: a request that rendered the old rows while the transaction was open must not stay.
    transaction.on_commit(invalidate, using=kwargs.get("using"), robust=True)


def connect_signals():
    post_save.connect(content_changed, dispatch_uid="pagecache_post_save")
    post_delete.connect(content_changed, dispatch_uid="pagecache_post_delete")
    m2m_changed.connect(content_changed, dispatch_uid="pagecache_m2m_changed")


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


def _without_nonce(request, body):
    nonce = getattr(request, "_csp_nonce", None)
    if isinstance(nonce, str) and nonce:
        return body.replace(b'nonce="' + nonce.encode() + b'"', b'nonce="' + NONCE_PLACEHOLDER + b'"')
    return body


def _with_nonce(request, body):
    if NONCE_PLACEHOLDER not in body:
        return body
    nonce = getattr(request, "csp_nonce", None)
    return body.replace(NONCE_PLACEHOLDER, str(nonce).encode() if nonce is not None else b"")


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
                found = cache.get_many([VERSION_KEY, key])
                version = _current_version(found)
                entry = found.get(key)
                if entry is not None and entry.get("version") == version:
                    response = HttpResponse(_with_nonce(request, entry["body"]))
                    for name, value in entry["headers"]:
                        response[name] = value
                    response["X-Page-Cache"] = "hit"
                    return _public(request, response, entry["etag"], entry["rendered_at"])

            response = _render(view_func(request, *args, **kwargs))
            if not _storable(request, response):
                response["X-Page-Cache"] = "bypass"
                return response
            body = _without_nonce(request, response.content)
            etag, rendered_at = _etag(body), time.time()
            if key is not None:
                headers = [(k, v) for k, v in response.items() if k.lower() not in _UNSTORED_HEADERS]
                entry = {"version": version, "body": body, "headers": headers, "etag": etag, "rendered_at": rendered_at}
                cache.set(key, entry, _entry_seconds())
                response["X-Page-Cache"] = "miss"
            else:
                response["X-Page-Cache"] = "off"
            return _public(request, response, etag, rendered_at)

        return wrapper

    return decorator(view) if view is not None else decorator
