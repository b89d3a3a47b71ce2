"""Signed links to a patient's intake form. The link alone opens nothing: the date of birth is asked first."""

import uuid

from django.core import signing

SALT = "intake.form.v1"


def make_token(form):
    return signing.dumps({"f": str(form.public_id)}, salt=SALT, compress=True)


def read_token(token):
    """The form's public id inside a token, or None if it was tampered with or is malformed."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        data = signing.loads(token, salt=SALT)
        return uuid.UUID(data["f"])
    except (signing.BadSignature, ValueError, TypeError, KeyError, UnicodeDecodeError):
        return None
