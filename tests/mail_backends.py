"""Email backends for tests: one that always fails, like a mail server that is down."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def local_smtp_settings(port, **extra):
    """Settings that send real SMTP to a test server on this machine (no TLS, no login)."""
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_TIMEOUT=5,
        **extra,
    )
