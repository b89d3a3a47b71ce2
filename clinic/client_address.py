"""Who is the client? One answer for the booking rate limit and the admin login lockout alike.

The connecting peer (REMOTE_ADDR) is the client unless it is one of our own proxies, listed in the
TRUSTED_PROXIES setting (addresses or networks). Only then does X-Forwarded-For count, read from the
right: each proxy appends the address it saw, so the first entry from the right that is not one of our
proxies is the client; whatever lies further left was written by the client and proves nothing.
A malformed entry is never used (a value such as "not-an-ip" would make PostgreSQL refuse the login
attempt record with a 500); the walk stops at it and the last good address is the answer.

``ForwardedHeadersMiddleware`` removes X-Forwarded-* headers sent by anyone else, so Django's
SECURE_PROXY_SSL_HEADER (X-Forwarded-Proto) is believed only from our proxies too.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")
MAX_FORWARDED_ENTRIES = 20  # more hops than any real chain of proxies; the rest is ignored


@lru_cache(maxsize=8)
def _networks(entries):
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue  # the settings check reports it; an unusable entry trusts nobody
    return tuple(networks)


def trusted_networks():
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def parse_address(value):
    """An ip_address for a well-formed IPv4/IPv6 text (IPv4-mapped IPv6 folded to IPv4), else None."""
    if not value or len(value) > 64:
        return None
    text = value.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:51234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted_proxy(address):
    return address is not None and any(address in network for network in trusted_networks())


def peer_is_trusted(request):
    """Is the connecting peer (REMOTE_ADDR) one of our proxies? Asked on every request, so remembered."""
    return _peer_is_trusted(request.META.get("REMOTE_ADDR", ""), trusted_networks())


@lru_cache(maxsize=256)
def _peer_is_trusted(remote_addr, networks):
    address = parse_address(remote_addr)
    return address is not None and any(address in network for network in networks)


def client_address(request):
    """The client's address as text ("" when even the peer's address is unusable)."""
    current = parse_address(request.META.get("REMOTE_ADDR", ""))
    if current is None:
        return ""
    if is_trusted_proxy(current):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop for hop in forwarded.split(",")[-MAX_FORWARDED_ENTRIES:] if hop.strip()]
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                break
            current = address
            if not is_trusted_proxy(address):
                break
    return str(current)


class ForwardedHeadersMiddleware:
    """Drop X-Forwarded-* headers unless the connecting peer is one of our proxies (first in MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not peer_is_trusted(request):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
