from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .caching import content_version
from .facts import get_facts

NAV_SECTIONS = ("/treatments/", "/articles/", "/team/", "/visits/")


def nav_section(path):
    """The header link this page belongs to ("" for none): a handful of values, so a handful of cached headers."""
    return "/contact/" if path == "/contact/" else next((p for p in NAV_SECTIONS if path.startswith(p)), "")


def clinic(request):
    """The clinic's facts, site address, header link and content version for ``{% cache %}`` keys (lazily)."""
    return {
        "nav_section": nav_section(request.path),
        "clinic": SimpleLazyObject(get_facts),
        "SITE_URL": settings.SITE_URL,
        "content_version": SimpleLazyObject(lambda: content_version(request)),
        "FRAGMENT_CACHE_SECONDS": settings.FRAGMENT_CACHE_SECONDS,
    }
