"""The waitlist under real concurrency (PostgreSQL, one connection per thread): two claims of one time, a claim
racing a phone booking, and a cancellation with three waiting patients worked by two workers at once. Each
counts what the clinic would notice: bookings, offer emails written and sent, offers."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from booking import workflow
from booking.models import Booking, BookingStatus, OutboxEmail, Patient
from booking.notifications.outbox import drain
from booking.waitlist import offers
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tests.booking.waitlist.setup import NINE, NOW, WaitlistClinic
from tests.factories import make_staff

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"),
    pytest.mark.django_db(transaction=True),
]


def at_once(*calls):
    """Run each call in its own thread (own database connection), released together; return results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001  (reported to the test as a result)
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(clock):
    clinic = WaitlistClinic()
    workflow.change_status(clinic.nine, BookingStatus.CANCELLED, by=workflow.PATIENT)
    clock.shift(timedelta(minutes=3))  # past the pause
    return clinic


def tokens_by_recipient():
    drain()
    found = {}
    for message in mail.outbox:
        if "/book/waitlist/offer/" in message.body:
            found[message.to[0]] = message.body.split("/book/waitlist/offer/")[1].split("/")[0]
    return found


def claim_by_link(token):
    return lambda: Client().post(reverse("waitlist:offer", args=[token]), {"action": "claim"})


def active_at_nine():
    return Booking.objects.active().filter(start=NINE).count()


def test_two_patients_claiming_two_offers_of_one_time_make_one_booking(clinic):
    ana = clinic.entry("Ana", waited_days=3)
    ben = clinic.entry("Ben", waited_days=1)
    offers.offer_freed_times()  # the worker offers 9:00 to Ana
    # Meanwhile the front desk offers the same time to Ben (staff may offer a held time).
    desk = make_staff("desk")  # (groups are flushed between transactional tests)
    offers.make_offer(ben, clinic.pat.pk, NINE, by=desk)
    tokens = tokens_by_recipient()
    assert set(tokens) == {"ana@example.com", "ben@example.com"}

    results = at_once(claim_by_link(tokens["ana@example.com"]), claim_by_link(tokens["ben@example.com"]))

    pages = [r.content.decode() if r.status_code == 200 else "" for r in results]
    assert sorted(r.status_code for r in results) == [200, 302]  # one booked page, one plain-words answer
    assert any("someone booked this time a moment before you" in p for p in pages)
    assert active_at_nine() == 1
    statuses = sorted(WaitlistOffer.objects.values_list("status", flat=True))
    assert statuses == [OfferStatus.CLAIMED, OfferStatus.TAKEN]
    loser = WaitlistOffer.objects.get(status=OfferStatus.TAKEN).entry
    assert loser.status == EntryStatus.WAITING  # stays on the list
    assert {ana.pk, ben.pk} == set(WaitlistEntry.objects.values_list("pk", flat=True))
    print(
        "two claims:",
        f"bookings={active_at_nine()}",
        f"offer emails={OutboxEmail.objects.filter(kind='waitlist_offer').count()}",
        f"offers={WaitlistOffer.objects.count()}",
    )


def phone_booking(clinic, desk):
    """The front desk books a caller by phone at 9:00 (booking.workflow.book_by_phone, as the add page does)."""

    def call():
        try:
            return workflow.book_by_phone(
                service=clinic.service,
                visit_type="in_clinic",
                location=clinic.location,
                practitioner=clinic.pat,
                start=NINE,
                patient=Patient(name="Phone Caller", email="caller@example.com", phone="+14165550111"),
                by=desk,
            )
        except workflow.SlotTaken:
            return "refused"

    return call


def test_a_claim_racing_a_phone_booking_makes_one_booking(clinic):
    ana = clinic.entry("Ana")
    offers.offer_freed_times()
    (token,) = tokens_by_recipient().values()

    desk = make_staff("desk")  # (groups are flushed between transactional tests)
    results = at_once(claim_by_link(token), phone_booking(clinic, desk))

    assert active_at_nine() == 1
    offer = WaitlistOffer.objects.get()
    if results[1] == "refused":
        assert offer.status == OfferStatus.CLAIMED and results[0].status_code == 302
    else:
        assert offer.status == OfferStatus.TAKEN
        assert "someone booked this time a moment before you" in results[0].content.decode()
        assert WaitlistEntry.objects.get(pk=ana.pk).status == EntryStatus.WAITING
    print(
        "claim vs phone:",
        f"winner={'patient' if offer.status == OfferStatus.CLAIMED else 'phone'}",
        f"bookings={active_at_nine()}",
        f"offer emails={OutboxEmail.objects.filter(kind='waitlist_offer').count()}",
        f"offers={WaitlistOffer.objects.count()}",
    )


def test_three_waiting_patients_two_workers_one_offer_at_a_time_in_turn_each_sent_once(clinic, clock):
    clinic.entry("Ana", waited_days=5)
    clinic.entry("Ben", waited_days=3)
    clinic.entry("Cai", waited_days=1, urgent=True)

    def worker():
        offers.offer_freed_times()
        return drain()

    sent_order = []
    for _round in range(4):
        before = len(mail.outbox)
        for _repeat in range(3):  # several passes of two workers at once: still one offer out at a time
            at_once(worker, worker)
            assert WaitlistOffer.objects.open().count() <= 1
        new = [m.to[0] for m in mail.outbox[before:] if "/book/waitlist/offer/" in m.body]
        sent_order += new
        clock.shift(timedelta(minutes=16))  # nobody takes it: the hold ends

    assert sent_order == ["cai@example.com", "ana@example.com", "ben@example.com"]
    assert OutboxEmail.objects.filter(kind="waitlist_offer").count() == 3
    assert OutboxEmail.objects.filter(kind="waitlist_offer", status="sent").count() == 3
    assert WaitlistOffer.objects.filter(status=OfferStatus.EXPIRED).count() == 3
    assert active_at_nine() == 0
    print(
        "cancellation, 3 waiting, 2 workers:",
        f"bookings={active_at_nine()}",
        f"offer emails written={OutboxEmail.objects.filter(kind='waitlist_offer').count()}",
        f"received={len(sent_order)}",
        f"offers={WaitlistOffer.objects.count()}",
    )
