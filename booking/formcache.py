"""The empty booking form, rendered once and reused with fresh per-request values.

Rendering the form (fields, services, free dates and times) costs tens of milliseconds; most visits
open it from the same few links. The rendered page is kept briefly in the shared cache with
placeholders where each visitor needs their own values (CSRF token, signed start time, one-time
request key), which are filled in per request. The key includes the availability and content
versions, so a new booking or a staff edit shows at once; forms with errors are never cached.
"""

import re
import uuid
from urllib.parse import urlencode

from django.core import signing
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.translation import get_language

from clinic import pagecache

from .availability import availability_version
from .forms import STARTED_SALT

PARAMS = frozenset({"service", "treatment", "visit", "practitioner"})
SECONDS = 60
CSRF = "__bookingform_csrf__"
STARTED = "__bookingform_started__"
REQUEST_KEY = "__bookingform_request_key__"
_CSRF_FIELD = re.compile(r'(name="csrfmiddlewaretoken" value=")([^"]+)(")')


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
    try:
        content = cache.get(pagecache.VERSION_KEY) or "0"
    except Exception:  # noqa: BLE001  (no cache: render fresh)
        return None
    return f"booking:form:{get_language()}:{availability_version()}:{content}:{query}"


def cached_response(request, key):
    try:
        body = cache.get(key)
    except Exception:  # noqa: BLE001
        return None
    if body is None:
        return None
    body = (
        body.replace(CSRF, get_token(request))
        .replace(STARTED, signing.dumps(timezone.now().timestamp(), salt=STARTED_SALT))
        .replace(REQUEST_KEY, uuid.uuid4().hex)
    )
    return HttpResponse(body)


def store(key, response, form):
    body = response.content.decode()
    body = _CSRF_FIELD.sub(lambda m: m.group(1) + CSRF + m.group(3), body)
    body = body.replace(form.initial["started"], STARTED).replace(form.initial["request_key"], REQUEST_KEY)
    if CSRF not in body or STARTED not in body or REQUEST_KEY not in body:
        return  # something unexpected in the page: never store a personal value
    try:
        cache.set(key, body, SECONDS)
    except Exception:  # noqa: BLE001
        return


TIMES_PARAMS = frozenset({"service", "visit_type", "location", "practitioner", "date", "slot"})


def fragment_key(request):
    """Key for the /book/times/ fragment, or None for queries it does not expect."""
    query = _query(request, TIMES_PARAMS, 40)
    return None if query is None else f"booking:times:{get_language()}:{availability_version()}:{query}"


def get_fragment(key):
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001
        return None


def set_fragment(key, html):
    try:
        cache.set(key, html, SECONDS)
    except Exception:  # noqa: BLE001
        return
