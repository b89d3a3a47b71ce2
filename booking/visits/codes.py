"""Issuing and checking sign-in codes (see models.SignInCode).

Asking for a code does the same work whatever the address: one read (does it have visits?), one code row, one
outbox row, the email text rendered. Only the outbox row differs: for an address with visits it is waiting for
the email worker; for one without it is written already "cancelled", with no recipient. So the answer, its
headers and its timing say nothing about who is a patient, and no mail server is ever talked to in the request.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from clinic.facts import get_facts

from ..models import OutboxEmail, OutboxStatus, Patient
from ..notifications.emails import Kind
from ..notifications.mailboxes import normalise_email
from .models import SignInCode

SIGN_IN_CODE = Kind.SIGN_IN_CODE


def address_digest(email_key):
    return salted_hmac("visits.address", email_key, algorithm="sha256").hexdigest()


def code_digest(email_key, code):
    # The address is part of the hash: a code sent to one address never opens another.
    return salted_hmac("visits.code", f"{email_key}\n{code}", algorithm="sha256").hexdigest()


def new_code():
    return f"{secrets.randbelow(10**6):06d}"


def has_visits(email_key):
    """Any current patient record under the address (with or without bookings yet): then a code is sent."""
    return Patient.objects.current().filter(email_key=email_key).exists()


@transaction.atomic
def issue(email):
    """Write a code for `email` (and its email, when the address has visits). Returns (code row, email key)."""
    email_key = normalise_email(email)
    now = timezone.now()
    code = new_code()
    row = SignInCode.objects.create(
        address_digest=address_digest(email_key),
        code_digest=code_digest(email_key, code),
        expires_at=now + timedelta(minutes=settings.VISITS_CODE_MINUTES),
    )
    known = has_visits(email_key)
    body = render_to_string(
        "booking/email/sign_in_code.txt",
        {"code": code, "minutes": settings.VISITS_CODE_MINUTES, "clinic": get_facts(), "site_url": settings.SITE_URL},
    )
    OutboxEmail.objects.create(
        kind=SIGN_IN_CODE,
        recipient=email if known else "",
        subject=_("Your sign-in code"),
        body=body if known else "",
        status=OutboxStatus.PENDING if known else OutboxStatus.CANCELLED,
        send_after=now,
    )
    return row, email_key


class CodeRefused(Exception):
    """The code cannot sign anyone in; the message says what to do next (never whether the address is known)."""


def redeem(code_id, email_key, code):
    """Spend one try of the code row `code_id` (asked for `email_key`) on `code`; True when it signs in.

    A try is counted before the comparison with one conditional UPDATE, so concurrent guesses cannot
    share a try: the 4th guess fails even when it is right. A right code is marked used in the same way,
    so it signs in once, however many requests carry it at the same moment.
    """
    now = timezone.now()
    live = SignInCode.objects.filter(
        pk=code_id,
        address_digest=address_digest(email_key),
        used_at__isnull=True,
        expires_at__gt=now,
        attempts__lt=settings.VISITS_CODE_TRIES,
    )
    if not live.update(attempts=F("attempts") + 1):
        raise CodeRefused(_("This code can no longer be used. Please ask for a new one."))
    row = SignInCode.objects.get(pk=code_id)
    code = "".join(ch for ch in str(code) if ch.isdigit())[:6]
    if len(code) != 6 or not constant_time_compare(row.code_digest, code_digest(email_key, code)):
        left = settings.VISITS_CODE_TRIES - row.attempts
        if left <= 0:
            raise CodeRefused(_("That code is not right, and it has no tries left. Please ask for a new one."))
        raise CodeRefused(_("That code is not right. Please check the email and try again."))
    if not SignInCode.objects.filter(pk=code_id, used_at__isnull=True).update(used_at=now):
        raise CodeRefused(_("This code can no longer be used. Please ask for a new one."))
    return True


def purge_old(now=None):
    """Codes are worth nothing after they expire; keep a day of them for rate questions, then delete."""
    now = now or timezone.now()
    return SignInCode.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()[0]
