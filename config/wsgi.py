"""WSGI entry point for gunicorn: `gunicorn config.wsgi`.

Page-cache hits for plain GETs are answered in front of Django (clinic.pagecache.EarlyHits); everything else
goes to Django's handler.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from clinic.pagecache import EarlyHits  # noqa: E402  (needs the settings configured above)

application = EarlyHits(django_application)
