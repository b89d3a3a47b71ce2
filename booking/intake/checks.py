"""`check --deploy` refuses a production configuration without the key that encrypts health information."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured


@register(Tags.security, deploy=True)
def health_data_key_configured(app_configs=None, **kwargs):
    if not settings.HEALTH_DATA_KEYS:
        if settings.DEBUG:
            return []
        return [
            Error(
                "HEALTH_DATA_KEYS is not set, so intake answers could be neither saved nor read.",
                hint="Set HEALTH_DATA_KEYS to a Fernet key kept outside the database and its backups "
                "(README, 'Health information').",
                id="intake.E001",
            )
        ]
    from . import crypto

    try:
        crypto._fernet()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="intake.E002")]
    return []
