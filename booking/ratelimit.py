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


def is_limited(request, scope="book", limit=None):
    limit = limit or settings.BOOKING_RATE_LIMIT
    try:
        count = cache.get(_key(scope, request)) or 0
    except Exception:  # noqa: BLE001  (fail open when the cache is down)
        logger.warning("rate limit cache unavailable; allowing request")
        return False
    return count >= limit


def hit(request, scope="book"):
    key = _key(scope, request)
    try:
        if not cache.add(key, 1, WINDOW_SECONDS + 60):
            cache.incr(key)
    except ValueError:
        cache.set(key, 1, WINDOW_SECONDS + 60)
    except Exception:  # noqa: BLE001
        logger.warning("rate limit cache unavailable; not counted")
