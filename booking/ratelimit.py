"""Per-client request limits kept in the shared cache, so they hold across server instances.

If the cache is unreachable the limit fails open (requests are allowed): a Redis outage must not stop
patients booking, and the honeypot, time check and per-email cap still apply. See README "Booking".
"""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache

from clinic.client_address import client_address

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60 * 60


def _key(scope, request):
    # Hash the address: the cache never holds a patient's IP in clear.
    digest = hashlib.sha256(client_address(request).encode()).hexdigest()[:24]
    return f"rl:{scope}:{digest}:{int(time.time() // WINDOW_SECONDS)}"


def take(request, scope="book", limit=None):
    """Count one attempt and say whether it is within the limit (True = go ahead).

    Increment first, compare after: the cache's atomic INCR hands each concurrent request its own
    number, so with a limit of 5 exactly 5 requests in an hour get numbers 1–5, however many arrive
    at once on however many instances.
    """
    limit = limit or settings.BOOKING_RATE_LIMIT
    key = _key(scope, request)
    try:
        cache.add(key, 0, WINDOW_SECONDS + 60)
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr: this is the window's first request
        cache.add(key, 1, WINDOW_SECONDS + 60)
        count = 1
    except Exception:  # noqa: BLE001  (fail open when the cache is down)
        logger.warning("rate limit cache unavailable; allowing request")
        return True
    if count is None:  # django-redis with IGNORE_EXCEPTIONS answers None when Redis is down
        logger.warning("rate limit cache unavailable; allowing request")
        return True
    return count <= limit
