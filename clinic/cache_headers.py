"""How every response may be cached, said in standard HTTP headers: nginx (deploy/) or a CDN serves the hits.

A view opts in with ``public_page`` (``query=`` names the query parameters it reads); when nothing personal went
into its response, ``CacheHeadersMiddleware`` makes it ``public`` with ``max-age``, ``s-maxage`` and
``stale-while-revalidate`` (settings PAGE_*), and ``ConditionalGetMiddleware`` adds a strong ETag and 304s.

Everything else is ``private, no-store``: pages not opted in; requests with a session or messages cookie or an
``Authorization`` header, or not GET/HEAD, or with a query parameter the page does not read (or twice); responses
that are not a 200, set a cookie, used the CSRF token (a form), wrote to the session, or say ``private`` or
``no-store`` themselves (a draft preview, an unknown filter value). So no proxy or browser keeps a page with a
form token, a session, messages or patient data, and nobody can fill a cache with made-up URLs.
"""

from functools import wraps

from django.conf import settings
from django.utils.cache import add_never_cache_headers, patch_cache_control


def public_page(view=None, *, query=()):
    """Mark a view's responses as shareable when the request has only the query parameters in ``query``."""
    allowed = frozenset(query)

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            response = view_func(request, *args, **kwargs)
            response.public_page = all(name in allowed and len(v) == 1 for name, v in request.GET.lists())
            return response

        return wrapper

    return decorator(view) if view is not None else decorator


def is_shareable(request, response):
    if not getattr(response, "public_page", False) or response.status_code != 200 or response.cookies:
        return False
    cookies = request.COOKIES  # the session's, or django.contrib.messages' own cookie: something personal
    if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies or "HTTP_AUTHORIZATION" in request.META:
        return False
    if request.method not in ("GET", "HEAD") or request.META.get("CSRF_COOKIE_USED"):
        return False
    session = getattr(request, "session", None)
    if session is not None and session.modified:
        return False  # (reading a session that does not exist, as request.user does, is nothing personal)
    cache_control = response.get("Cache-Control", "").lower()
    return not any(word in cache_control for word in ("private", "no-store", "no-cache"))


class CacheHeadersMiddleware:
    """Public headers for shareable pages, else ``private, no-store``; above the session, CSRF and messages
    middleware, so it sees the cookies they set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_shareable(request, response):
            patch_cache_control(
                response,
                public=True,
                max_age=settings.PAGE_MAX_AGE,
                s_maxage=settings.PAGE_SHARED_MAX_AGE,
                stale_while_revalidate=settings.PAGE_STALE_SECONDS,
            )
        else:
            add_never_cache_headers(response)  # "private" replaces a "public" the view may have set
        return response
