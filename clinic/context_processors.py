from django.conf import settings

from .facts import get_facts


def clinic(request):
    return {"clinic": get_facts(), "SITE_URL": settings.SITE_URL}
