"""Who is signed in at /visits/: the folded email address (booking.notifications.mailboxes) kept in the
server-side session, with the time of the last request, so the sign-in ends after VISITS_IDLE_MINUTES without activity,
and the ids of the patient records the sign-in covers (the records under that address; the booking form offers
only these, so a booking made while signed in goes to the record chosen, never to one named from outside).

Nothing here is a Django user: patients are not staff accounts (README "Returning patients")."""

from django.conf import settings
from django.utils import timezone

SIGNED_IN = "visits_signed_in"
PENDING = "visits_pending"  # the code row asked for and the address it was asked for, until it is used
BOOK_FOR = "visits_book_for"  # "Book again" / "someone else in my family": who the next request is for


def start_pending(request, code_id, email_key):
    request.session[PENDING] = {"code": code_id, "key": email_key}


def pending(request):
    data = request.session.get(PENDING)
    return data if isinstance(data, dict) and "code" in data and "key" in data else None


def sign_in(request, email_key, patient_ids):
    # A new session key at the change of privilege, so a session id planted before sign-in is worthless.
    request.session.cycle_key()
    request.session.pop(PENDING, None)
    request.session[SIGNED_IN] = {"key": email_key, "seen": timezone.now().timestamp(), "patients": list(patient_ids)}


def covered_patients(request):
    """The ids of the patient records this sign-in covers (empty when not signed in)."""
    data = request.session.get(SIGNED_IN) if hasattr(request, "session") else None
    ids = data.get("patients") if isinstance(data, dict) else None
    return [pk for pk in ids if isinstance(pk, int)] if isinstance(ids, list) else []


def cover_patients(request, patient_ids):
    """The records under the address as the visits page just listed them (staff may have added, merged or
    moved one since sign-in): the set the booking form offers from now on."""
    data = request.session.get(SIGNED_IN)
    if isinstance(data, dict) and data.get("patients") != list(patient_ids):
        data["patients"] = list(patient_ids)
        request.session[SIGNED_IN] = data


def sign_out(request):
    for name in (SIGNED_IN, PENDING, BOOK_FOR):
        request.session.pop(name, None)
    request.session.cycle_key()


def signed_in_key(request, touch=True):
    """The signed-in address key, or None (never signed in, signed out, or idle too long: then it is cleared)."""
    data = request.session.get(SIGNED_IN) if hasattr(request, "session") else None
    if not isinstance(data, dict):
        return None
    now = timezone.now().timestamp()
    if now - float(data.get("seen", 0)) > settings.VISITS_IDLE_MINUTES * 60:
        sign_out(request)
        return None
    if touch:
        data["seen"] = now
        request.session[SIGNED_IN] = data
    return data["key"]


def was_signed_in(request):
    """True when the session holds a sign-in, live or expired (to say "you were signed out")."""
    return isinstance(request.session.get(SIGNED_IN), dict)
