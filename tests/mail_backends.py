"""Email backends for tests: one that always fails, like a mail server that is down; a slow one; one that loses
its claim while sending."""

import smtplib
import time
from datetime import timedelta

from django.core.mail.backends import locmem
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings
from django.utils import timezone


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


class SlowBackend(locmem.EmailBackend):
    """A mail server that takes `seconds` to accept each message (set it longer than the worker's lease)."""

    seconds = 1.0

    def send_messages(self, email_messages):
        time.sleep(self.seconds)
        return super().send_messages(email_messages)


class TakenOverBackend(locmem.EmailBackend):
    """Accepts the message, but meanwhile another worker has claimed the row (as if its lease had run out)."""

    def send_messages(self, email_messages):
        from booking.models import OutboxEmail, OutboxStatus

        OutboxEmail.objects.filter(status=OutboxStatus.SENDING).update(claimed_at=timezone.now() + timedelta(hours=1))
        return super().send_messages(email_messages)
