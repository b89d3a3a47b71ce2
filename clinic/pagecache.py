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

Served early: ``PageCacheMiddleware`` sits right after the forwarded-header check, outside every other middleware.
It stores the entries the decorator prepared once the whole stack has added its headers (security headers, CSP,
language, Vary, caching), keeping the CSP header as a template with a slot for the nonce. A plain GET that hits is
then answered by ``EarlyHits``, the WSGI application in front of Django (config/wsgi.py): one round trip to the
shared cache, a fresh nonce spliced into the stored gzip stream and into the CSP header, the stored headers
copied; no request object, signal, middleware, session, URL resolution or view. Conditional requests, HEAD and
sites with several languages get the same answer from the middleware. The key is a digest of every request input
a public page depends on (``request_key``). Static files and the admin never look in the page cache. Without the
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

import base64
import hashlib
import logging
import os
import time
from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)
from django.utils.http import http_date

from . import caching, client_address, compression

logger = logging.getLogger(__name__)

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
    return request.method not in ("GET", "HEAD") or _has_credentials(request.META, request.COOKIES)


def _has_credentials(meta, cookies):
    """A session or messages cookie, or an Authorization header: this visitor may see something personal."""
    if "HTTP_AUTHORIZATION" in meta:
        return True
    return settings.SESSION_COOKIE_NAME in cookies or any(name in cookies for name in _PERSONAL_COOKIES)


def _cache_key(request, allowed_params, language=None):
    """The key for this request, or None if it has query parameters the view does not read."""
    if allowed_params is not None and any(name not in allowed_params for name in request.GET):
        return None
    return request_key(request.META, language or translation.get_language() or "")


def request_key(meta, language):
    """The key of a request's page: a digest of every input a public page's response depends on.

    Read from the WSGI environ as it arrived (the early answer sees nothing else): the scheme and host, the
    forwarded protocol and host only when the peer is one of our proxies (ForwardedHeadersMiddleware drops them
    otherwise), the path and the query string exactly as sent, and the language. Two requests that differ in
    any of these never share an entry; a query string in another order is simply another entry.
    """
    if client_address.peer_is_trusted_address(meta.get("REMOTE_ADDR", "")):
        forwarded = (meta.get("HTTP_X_FORWARDED_PROTO", ""), meta.get("HTTP_X_FORWARDED_HOST", ""))
    else:
        forwarded = ("", "")
    host = meta.get("HTTP_HOST") or "{}:{}".format(meta.get("SERVER_NAME", ""), meta.get("SERVER_PORT", ""))
    raw = "\n".join(
        (
            meta.get("wsgi.url_scheme", "http"),
            *forwarded,
            host,
            meta.get("SCRIPT_NAME", ""),
            meta.get("PATH_INFO", ""),
            meta.get("QUERY_STRING", ""),
            language,
        )
    )
    return KEY_PREFIX + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


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
    if not (isinstance(stored, tuple) and len(stored) == 2 and _servable(stored[1])):
        return None, None, token
    return (stored[1], None, token) if stored[0] == token else (None, stored[1], token)


def _wait_for(key):
    """Another request is rendering this page: wait for its entry (None after WAIT_SECONDS)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.02)
        entry, _token = caching.get_versioned(CONTENT, key)
        if _servable(entry):
            return entry
    return None


_PACKED_FIELDS = {"chunks": list, "gap": int, "crc": int, "fill_crc": int, "columns": list, "size": int}


def _servable(entry):
    """Is this a whole entry in today's format? (An entry from another release, or damaged, is a miss.)"""
    if not isinstance(entry, dict) or not isinstance(entry.get("headers"), list):
        return False
    packed = entry.get("packed")
    return isinstance(packed, dict) and all(isinstance(packed.get(f), t) for f, t in _PACKED_FIELDS.items())


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
    """Answer page-cache hits before the rest of the middleware; store new entries with the final headers.

    Second in MIDDLEWARE, right after ``ForwardedHeadersMiddleware``. Behind ``EarlyHits`` (the WSGI entry point)
    it sees only what that did not answer: conditional requests, HEAD, several languages. See the module docstring.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        looked = request.META.get(_LOOKED)  # EarlyHits found nothing for this very request a moment ago
        answer = _early_answer(request.META, request) if not looked and _may_answer_early(request.META) else None
        if answer is not None:
            headers, body, entry = answer
            response = HttpResponse(body)
            for name, value in headers:
                response.headers[name] = value
            return get_conditional_response(
                request, etag=entry["etag"], last_modified=int(entry["rendered_at"]), response=response
            )
        request._page_cache_middleware = True
        response = self.get_response(request)
        pending = getattr(response, "_page_cache_pending", None)
        if pending is not None and response.status_code == 200 and not response.cookies:
            key, token, entry, lock = pending
            _store(key, token, _with_final_headers(request, response, entry), lock)
        elif pending is not None and pending[3]:
            caching.delete(pending[3])
        return response


class EarlyHits:
    """The WSGI application in front of Django: answers a plain GET that is a page-cache hit by itself.

    No request object, no signals, no middleware: the key, one round trip to the shared cache, a fresh CSP nonce
    spliced into the stored stream and header. Anything else, and anything that goes wrong here, goes to Django.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        answer = None
        if environ.get("REQUEST_METHOD") == "GET" and _may_answer_early(environ) and not _conditional(environ):
            answer = _early_answer(environ, None)
            environ[_LOOKED] = answer is None and len(settings.LANGUAGES) == 1
        if answer is None:
            return self.application(environ, start_response)
        headers, body, _entry = answer
        start_response("200 OK", headers)
        return [body]


def _early_answer(meta, request):
    """(headers, body, entry) for a hit stored with its final headers, else None. A damaged entry is a miss."""
    try:
        entry = _early_entry(meta, request)
        return (*_early_parts(meta, entry), entry) if entry is not None else None
    except Exception:  # noqa: BLE001  (an early answer is an optimisation: the page is rendered instead)
        logger.exception("page cache: an entry could not be served; rendering the page instead")
        return None


_LOOKED = "clinic.page_cache_looked"  # set in the WSGI environ: the middleware need not ask the cache again


def _conditional(meta):
    return "HTTP_IF_NONE_MATCH" in meta or "HTTP_IF_MODIFIED_SINCE" in meta


def _skip_prefixes():
    # Paths that are never cached pages (static files, the admin): no round trip to the cache for them.
    return tuple(p for p in (settings.STATIC_URL, settings.MEDIA_URL, "/" + settings.ADMIN_URL) if p and p != "/")


def _may_answer_early(meta):
    if not is_enabled() or meta.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    if meta.get("PATH_INFO", "").startswith(_skip_prefixes()):
        return False
    cookie = meta.get("HTTP_COOKIE")
    return not _has_credentials(meta, parse_cookie(cookie) if cookie else {})


def _early_entry(meta, request):
    """The current entry for this request, if it was stored with its final headers; else None."""
    if len(settings.LANGUAGES) == 1:
        # One language: no need to read cookies and Accept-Language (what LocaleMiddleware would pick).
        language = translation.get_supported_language_variant(settings.LANGUAGE_CODE)
    elif request is not None:
        language = translation.get_language_from_request(request)
    else:
        return None  # several languages: the middleware decides with the request in hand
    entry, _token = caching.get_versioned(CONTENT, request_key(meta, language))
    return entry if _servable(entry) and "final" in entry else None


_CSP_HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
_NONCE_SLOT = "__csp_nonce_slot__"


def _with_final_headers(request, response, entry):
    """The entry with the headers the whole stack gave this response; CSP headers keep a slot for the nonce."""
    nonce = getattr(request, "_csp_nonce", None)
    csp = []
    for name in _CSP_HEADERS:
        if name in response:
            text = response[name]
            csp.append((name, text.replace(f"'nonce-{nonce}'", f"'nonce-{_NONCE_SLOT}'") if nonce else text))
    headers = [(k, v) for k, v in response.items() if k.lower() not in _UNSTORED_HEADERS]
    # An early answer sends these as they are: the caching headers this response got, every hit alike.
    final = [
        *headers,
        ("Cache-Control", response.get("Cache-Control", "")),
        ("ETag", entry["etag"]),
        ("Last-Modified", response.get("Last-Modified") or http_date(entry["rendered_at"])),
    ]
    return {**entry, "headers": headers, "final": final, "csp": csp}


def _new_nonce():
    # The same form as django-csp's nonce (16 random bytes, base64): the stored page keeps a slot of its length.
    return base64.b64encode(os.urandom(16)).decode("ascii")


def _early_parts(meta, entry):
    """(headers, body) of an early answer: the stored page and headers, and this response's own nonce."""
    packed = entry["packed"]
    nonce = _new_nonce()
    value = nonce.encode() if packed["gap"] else b""
    headers = list(entry["final"])
    if compression.accepts_gzip_header(meta.get("HTTP_ACCEPT_ENCODING", "")):
        body = compression.gzip_with(packed, value)
        headers.append(("Content-Encoding", "gzip"))
    else:
        body = compression.plain_with(packed, value)
    headers += [(name, template.replace(_NONCE_SLOT, nonce)) for name, template in entry["csp"]]
    headers += [("Content-Length", str(len(body))), ("X-Page-Cache", "hit")]
    return headers, body
