"""Limits on asking for sign-in codes, per client address and per email address, with django-ratelimit.

The counts live in the shared cache (Redis in production), so they hold across server instances. If the cache
is unreachable django-ratelimit fails open (RATELIMIT_FAIL_OPEN): a cache outage must not lock patients out.
"""

from django.conf import settings
from django_ratelimit.core import is_ratelimited

from clinic.client_address import client_address

from .codes import address_digest


def _client(group, request):
    return client_address(request)


def code_request_limited(request, email_key):
    """Count one request for a code; True when the client or the address asked too often.

    Both counts are taken every time (no short cut), so the answer and its timing do not depend on which
    limit was reached, or on the address."""
    by_client = is_ratelimited(
        request, group="visits-code-client", key=_client, rate=settings.VISITS_CODE_RATE_PER_CLIENT, increment=True
    )
    by_address = is_ratelimited(
        request,
        group="visits-code-address",
        key=lambda group, request: address_digest(email_key),
        rate=settings.VISITS_CODE_RATE_PER_ADDRESS,
        increment=True,
    )
    return by_client or by_address
