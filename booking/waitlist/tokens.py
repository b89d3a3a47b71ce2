"""The signed link in a waitlist email that lets the patient leave the waitlist (no account needed)."""

from django.core import signing

SALT = "waitlist.leave.v1"


def leave_token(entry):
    return signing.dumps({"w": entry.pk}, salt=SALT, compress=True)


def read_leave_token(token):
    """The entry id inside a token, or None if it was tampered with or is malformed."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        data = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        return None
    pk = data.get("w") if isinstance(data, dict) else None
    return pk if isinstance(pk, int) else None
