"""Offering freed times to waiting patients, and what the patient does with an offer.

The worker's step (``offer_freed_times``, run by ``manage.py run_worker``) goes down the waitlist in turn (urgent
first, then who has waited longest) and offers each waiting patient without an open offer the earliest free time
that suits them. An offer holds its time for that patient for WAITLIST_HOLD_MINUTES: the public picker hides it and
the online save-time check refuses it (booking/scheduling); staff booking by phone may still take it, and the
offer is then void. Not taken in time, the next pass offers the time to the next patient; when nobody else
waits for it, the time is simply free.

Exactly once with any number of workers: the whole pass (expire, void, offer, queue the emails) is one
transaction that only one worker runs at a time — on PostgreSQL it takes a transaction-level advisory lock with
``pg_try_advisory_xact_lock`` (a second worker skips the pass instead of waiting, like SKIP LOCKED), on SQLite
the write transaction is IMMEDIATE, so passes are serialised. Offers and their emails commit together.

Claiming is an ordinary booking (booking.workflow.request_booking) under the same database constraint; the
offer row is locked (SELECT … FOR UPDATE on PostgreSQL, the IMMEDIATE transaction on SQLite) so a double tap
books once, and two offers of one time, or an offer and a phone booking, make exactly one booking.
"""

import enum
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from clinic.db import retry_lost_races, transaction_lock
from clinic.facts import get_facts

from .. import workflow
from ..models import Booking, BookingEvent, OutboxEmail
from ..notifications.emails import Kind
from ..notifications.mailboxes import normalise_email
from ..scheduling.availability import _compute_slots, booking_window, bump_availability_version
from .models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer, hash_token, new_token

logger = logging.getLogger(__name__)

OFFER_EMAIL = Kind.WAITLIST_OFFER
JOINED_EMAIL = Kind.WAITLIST_JOINED
_PASS_LOCK = int.from_bytes(hashlib.blake2b(b"waitlist.offer-pass", digest_size=8).digest(), "big", signed=True)


def hold():
    return timedelta(minutes=settings.WAITLIST_HOLD_MINUTES)


def pause():
    return timedelta(minutes=settings.WAITLIST_PAUSE_MINUTES)


def _availability_changed():
    """Holds hide times from the cached picker; queryset updates send no signals, so say it here."""
    bump_availability_version()
    transaction.on_commit(bump_availability_version, robust=True)


def _take_pass():
    """True when this transaction may run the offer pass (PostgreSQL: no other worker is running one)."""
    if connection.vendor != "postgresql":
        return True  # SQLite: the IMMEDIATE write transaction already serialises passes
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_PASS_LOCK])
        return cursor.fetchone()[0]


# --- The worker's step -------------------------------------------------------------------------------------------


@dataclass
class PassResult:
    offered: int = 0
    expired: int = 0
    taken: int = 0
    skipped: bool = False  # another worker was running the pass


def close_ended_offers(now):
    """Offers past their hold become "not taken in time"; open offers whose time has been booked meanwhile (by
    phone, say) become "booked by someone else". Returns (expired, taken)."""
    expired = (
        WaitlistOffer.objects.open().filter(expires_at__lte=now).update(status=OfferStatus.EXPIRED, decided_at=now)
    )
    overlapping = Booking.objects.active().filter(
        practitioner_id=OuterRef("practitioner_id"),
        start__lt=OuterRef("blocked_until"),
        blocked_until__gt=OuterRef("start"),
    )
    taken = WaitlistOffer.objects.open().filter(Exists(overlapping)).update(status=OfferStatus.TAKEN, decided_at=now)
    if expired or taken:
        _availability_changed()
    return expired, taken


@retry_lost_races
def offer_freed_times(now=None):
    """One pass of the worker's waitlist step: close ended offers, expire entries, offer free times in turn."""
    now = now or timezone.now()
    result = PassResult()
    with transaction.atomic():
        if not _take_pass():
            result.skipped = True
            return result
        result.expired, result.taken = close_ended_offers(now)
        WaitlistEntry.objects.filter(status=EntryStatus.WAITING, until__lt=timezone.localdate(now)).update(
            status=EntryStatus.EXPIRED
        )
        entries = list(
            WaitlistEntry.objects.waiting(now)
            .exclude(Exists(WaitlistOffer.objects.open().filter(entry=OuterRef("pk"))))
            .select_related("service", "location", "practitioner")
            .in_turn()
        )
        if not entries:
            return result
        # Offered before (and declined, expired or lost): never the same time to the same patient twice.
        tried = set(WaitlistOffer.objects.filter(entry__in=entries).values_list("entry_id", "practitioner_id", "start"))
        # A practitioner whose bookings changed a moment ago: the patient may be rebooking the freed time.
        paused = set(
            BookingEvent.objects.filter(at__gt=now - pause()).values_list("booking__practitioner_id", flat=True)
        )
        # Never inside the minimum notice, even at the end of the hold.
        earliest = booking_window(now)[0] + hold()
        free_by_group = {}
        held_in_pass = {}  # practitioner id -> [(start, blocked_until)] offered in this pass
        for entry in entries:
            key = (entry.service_id, entry.visit_type, entry.location_id, entry.practitioner_id)
            if key not in free_by_group:
                free_by_group[key] = _compute_slots(
                    entry.service, entry.visit_type, entry.location, entry.practitioner, None, now
                )
            choice = _first_suitable(entry, free_by_group[key], earliest, paused, tried, held_in_pass)
            if choice is None:
                continue
            start, pid = choice
            offer = make_offer(entry, pid, start, now=now)
            held_in_pass.setdefault(pid, []).append((offer.start, offer.blocked_until))
            result.offered += 1
        if result.offered:
            _availability_changed()
    return result


def _first_suitable(entry, free, earliest, paused, tried, held_in_pass):
    span = entry.service.duration + entry.service.buffer
    for start in sorted(free):
        if start < earliest or not entry.suits(start):
            continue
        for pid in free[start]:
            if pid in paused or (entry.pk, pid, start) in tried:
                continue
            if any(s < start + span and start < until for s, until in held_in_pass.get(pid, ())):
                continue
            return start, pid
    return None


def make_offer(entry, practitioner_id, start, *, now=None, by=None):
    """Hold `start` with this practitioner for `entry` and queue the offer email (in the caller's transaction)."""
    now = now or timezone.now()
    token = new_token()
    service = entry.service
    end = start + service.duration
    offer = WaitlistOffer.objects.create(
        entry=entry,
        service=service,
        visit_type=entry.visit_type,
        location=entry.location,
        practitioner_id=practitioner_id,
        start=start,
        end=end,
        blocked_until=end + service.buffer,
        token_hash=hash_token(token),
        created=now,
        expires_at=now + hold(),
        offered_by=by,
    )
    _queue_offer_email(offer, token)
    return offer


def when_text(start):
    local = timezone.localtime(start)
    return f"{formats.date_format(local, 'l j F')}, {formats.time_format(local, 'TIME_FORMAT')}"


def _queue_offer_email(offer, token):
    from django.urls import reverse

    entry = offer.entry
    context = {
        "entry": entry,
        "offer": offer,
        "when": when_text(offer.start),
        "held_until": formats.time_format(timezone.localtime(offer.expires_at), "TIME_FORMAT"),
        "hold_minutes": settings.WAITLIST_HOLD_MINUTES,
        "offer_url": settings.SITE_URL + reverse("waitlist:offer", kwargs={"token": token}),
        "leave_url": settings.SITE_URL + entry.leave_url(),
        "clinic": get_facts(),
    }
    OutboxEmail.objects.create(
        kind=OFFER_EMAIL,
        recipient=entry.email,
        subject=_("A time has come free for you: %(when)s") % {"when": context["when"]},
        body=render_to_string("waitlist/email/offer.txt", context),
        context={"waitlist_offer": offer.pk},
        send_after=offer.created,
    )


def offer_email_still_wanted(email):
    """Send an offer email only while its offer still holds the time."""
    pk = email.context.get("waitlist_offer")
    return WaitlistOffer.objects.holding().filter(pk=pk).exists()


# --- The patient's side -------------------------------------------------------------------------------------------


class Outcome(enum.Enum):
    BOOKED = "booked"
    ALREADY_BOOKED = "already_booked"  # the same offer claimed before (a double tap)
    EXPIRED = "expired"
    TAKEN = "taken"
    CLOSED = "closed"  # declined or withdrawn earlier
    TOO_MANY = "too_many"


@dataclass
class ClaimResult:
    outcome: Outcome
    offer: WaitlistOffer
    booking: Booking | None = None


def offer_for_token(token):
    if not isinstance(token, str) or not 10 <= len(token) <= 100:
        return None
    return (
        WaitlistOffer.objects.select_related("entry", "service", "practitioner", "location")
        .filter(token_hash=hash_token(token))
        .first()
    )


def _locked(offer):
    rows = WaitlistOffer.objects.select_related("entry", "service", "practitioner", "location")
    if connection.features.has_select_for_update:
        rows = rows.select_for_update(of=("self",))
    return rows.get(pk=offer.pk)


def _close(offer, status, now):
    offer.status, offer.decided_at = status, now
    offer.save(update_fields=["status", "decided_at"])


@retry_lost_races(give_up=lambda: workflow.SlotTaken())
def claim(offer, now=None):
    """Book the offered time for the patient it was offered to. Whatever happens, the patient is told in plain
    words; unless booked, they stay on the waitlist."""
    now = now or timezone.now()
    with transaction.atomic():
        offer = _locked(offer)
        if offer.status == OfferStatus.CLAIMED:
            return ClaimResult(Outcome.ALREADY_BOOKED, offer, offer.booking)
        if offer.status in (OfferStatus.EXPIRED, OfferStatus.TAKEN):
            return ClaimResult(Outcome(offer.status), offer)
        if offer.status != OfferStatus.OFFERED:
            return ClaimResult(Outcome.CLOSED, offer)
        if offer.expires_at <= now:
            _close(offer, OfferStatus.EXPIRED, now)
            return ClaimResult(Outcome.EXPIRED, offer)
        entry = offer.entry
        details = workflow.PatientDetails(
            name=entry.name,
            email=entry.email,
            phone=entry.phone,
            phone_as_typed=entry.phone_as_typed,
            contact_preference=entry.contact_preference,
            patient_type=entry.patient_type,
            reason="",
            privacy_version=entry.privacy_version,
        )
        try:
            booking = workflow.request_booking(
                service=offer.service,
                visit_type=offer.visit_type,
                location=offer.location,
                practitioner=offer.practitioner,
                start=offer.start,
                patient=details,
                now=now,
                honour_holds=False,  # the offer is the patient's right to this time; the constraint decides
                note=_("Booked from a waitlist offer"),
            )
        except workflow.SlotTaken:
            _close(offer, OfferStatus.TAKEN, now)
            return ClaimResult(Outcome.TAKEN, offer)
        except workflow.TooManyOpen:
            return ClaimResult(Outcome.TOO_MANY, offer)
        offer.booking = booking
        offer.status, offer.decided_at = OfferStatus.CLAIMED, now
        offer.save(update_fields=["status", "decided_at", "booking"])
        WaitlistEntry.objects.filter(pk=entry.pk).update(
            status=EntryStatus.BOOKED, booking=booking, patient=entry.patient_id or booking.patient_id, updated=now
        )
    return ClaimResult(Outcome.BOOKED, offer, booking)


@retry_lost_races
def decline(offer, now=None):
    """The patient does not want this time: the hold ends now and the next pass offers it to the next patient."""
    now = now or timezone.now()
    with transaction.atomic():
        offer = _locked(offer)
        if offer.is_held(now):
            _close(offer, OfferStatus.DECLINED, now)
            return True
    return False


@retry_lost_races
def leave(entry, now=None):
    """Take an entry off the waitlist; an offer it holds ends at once. False when it was not waiting."""
    now = now or timezone.now()
    with transaction.atomic():
        left = WaitlistEntry.objects.filter(pk=entry.pk, status=EntryStatus.WAITING).update(
            status=EntryStatus.LEFT, updated=now
        )
        if left and WaitlistOffer.objects.open().filter(entry_id=entry.pk).update(
            status=OfferStatus.WITHDRAWN, decided_at=now
        ):
            _availability_changed()
    return bool(left)


# --- Joining ------------------------------------------------------------------------------------------------------


@retry_lost_races
def join(fields, *, request_key=None, by=None, now=None):
    """Add an entry and email the patient (a link to leave). Returns the entry, or None when the address already
    has WAITLIST_MAX_PER_EMAIL waiting entries: the web answer is the same either way (it never says whether an
    address is known); the address is told by email instead. Counted under a lock on the address."""
    now = now or timezone.now()
    email_key = normalise_email(fields["email"])
    with transaction.atomic():
        if request_key:
            existing = WaitlistEntry.objects.filter(request_key=request_key).first()
            if existing:
                return existing
        transaction_lock(email_key)
        waiting = WaitlistEntry.objects.waiting(now).filter(email_key=email_key).count()
        if waiting >= settings.WAITLIST_MAX_PER_EMAIL and by is None:
            _queue_joined_email(fields, None)
            return None
        entry = WaitlistEntry.objects.create(**fields, request_key=request_key, added_by=by, created=now)
        _queue_joined_email(fields, entry)
    return entry


def _queue_joined_email(fields, entry):
    context = {
        "name": fields["name"],
        "entry": entry,
        "service": fields["service"],
        "leave_url": settings.SITE_URL + entry.leave_url() if entry else "",
        "clinic": get_facts(),
        "hold_minutes": settings.WAITLIST_HOLD_MINUTES,
        "limit": settings.WAITLIST_MAX_PER_EMAIL,
    }
    OutboxEmail.objects.create(
        kind=JOINED_EMAIL,
        recipient=fields["email"],
        subject=_("You're on our waitlist") if entry else _("About your waitlist request"),
        body=render_to_string("waitlist/email/joined.txt", context),
        # Which entry it welcomes: purge_bookings clears it with the entry.
        context={"waitlist_entry": entry.pk} if entry else {},
    )


def welcome(entry):
    """The email to a caller the front desk added: what they wait for and the link to leave."""
    fields = {"name": entry.name, "email": entry.email, "service": entry.service}
    _queue_joined_email(fields, entry)
