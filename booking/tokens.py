"""Signed links that let a patient view, cancel or move their own booking without an account."""

from django.core import signing

SALT = "booking.manage.v1"


def make_token(booking):
    return signing.dumps({"r": booking.reference}, salt=SALT, compress=True)


def read_token(token):
    """The booking reference inside a token, or None if it was tampered with or is malformed."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        data = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        return None
    ref = data.get("r") if isinstance(data, dict) else None
    return ref if isinstance(ref, str) else None
