"""System checks of the production configuration (run by ``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

# Backends that write each message (names, addresses, working patient links) to the server's output or disk.
LOGGING_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@register(Tags.security, deploy=True)
def mail_server_configured(app_configs=None, **kwargs):
    """No patient data in logs: production needs a mail server, or a console backend chosen on purpose."""
    if settings.DEBUG:
        return []
    backend = settings.EMAIL_BACKEND
    chosen = getattr(settings, "EMAIL_BACKEND_CHOSEN", False)
    if backend in LOGGING_BACKENDS and not chosen:
        return [
            Error(
                "No mail server is configured, so every patient email (names, addresses and working links to "
                "their bookings) would be written to the server log.",
                hint="Set EMAIL_HOST (and EMAIL_HOST_USER / EMAIL_HOST_PASSWORD). Only on a staging server, "
                "choose the console explicitly: EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend.",
                id="clinic.E001",
            )
        ]
    if backend == SMTP_BACKEND and not settings.EMAIL_HOST:
        return [Error("EMAIL_BACKEND is SMTP but EMAIL_HOST is empty.", hint="Set EMAIL_HOST.", id="clinic.E002")]
    return []
