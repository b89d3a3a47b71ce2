from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .facts import get_facts


def clinic(request):
    # Lazy: a page that reads its cached fragments joins the facts to that one read of the shared cache
    # ({% prefetch_fragments %}); any other page reads them when it first shows one.
    return {"clinic": SimpleLazyObject(get_facts), "SITE_URL": settings.SITE_URL}
