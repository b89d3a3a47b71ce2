"""The empty booking form, rendered once and reused with fresh per-request values.

Rendering the form (fields, services, free dates and times) costs tens of milliseconds; most visits
open it from the same few links. The rendered page is kept briefly in the shared cache with
placeholders where each visitor needs their own values (CSRF token, signed start time, one-time
request key), which are filled in per request. The key includes the availability and content
versions, so a new booking or a staff edit shows at once; forms with errors are never cached.
"""

import uuid
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import get_language

from clinic import caching, pagecache

from .forms import STARTED_SALT
from .scheduling.availability import availability_version

PARAMS = frozenset({"service", "treatment", "visit", "practitioner"})
SECONDS = 60
CSRF = caching.CSRF_PLACEHOLDER
STARTED = "__bookingform_started__"
REQUEST_KEY = "__bookingform_request_key__"


def _query(request, allowed, max_length):
    """The query string in a canonical order, or None if it holds anything unexpected."""
    items = []
    for name, values in request.GET.lists():
        if name not in allowed or len(values) != 1 or len(values[0]) > max_length:
            return None
        items.append((name, values[0]))
    return urlencode(sorted(items))


def cache_key(request):
    """None when the request has parameters the form does not read (those are rendered fresh)."""
    query = _query(request, PARAMS, 60)
    if query is None:
        return None
    content = caching.version(pagecache.CONTENT)
    return f"booking:form:{get_language()}:{availability_version()}:{content}:{query}"


def cached_response(request, key):
    body = caching.get(key)
    if body is None:
        return None
    body = caching.swap_in(
        caching.csrf_in(body, request),
        {
            STARTED: signing.dumps(timezone.now().timestamp(), salt=STARTED_SALT),
            REQUEST_KEY: uuid.uuid4().hex,
        },
    )
    return HttpResponse(body)


def store(key, response, form):
    body = caching.swap_out(
        caching.csrf_out(response.content.decode()),
        {CSRF: "", STARTED: form.initial["started"], REQUEST_KEY: form.initial["request_key"]},
    )
    if body is not None:  # None: something unexpected in the page; never store a personal value
        caching.set(key, body, SECONDS)


TIMES_PARAMS = frozenset({"service", "visit_type", "location", "practitioner", "from", "slot"})


def fragment_key(request):
    """Key for the /book/times/ fragment, or None for queries it does not expect."""
    query = _query(request, TIMES_PARAMS, 40)
    return None if query is None else f"booking:times:{get_language()}:{availability_version()}:{query}"


def get_fragment(key):
    return caching.get(key)


def set_fragment(key, html):
    caching.set(key, html, SECONDS)
