"""The waitlist as patients and the front desk meet it: joining (from the picker, validated, capped, same answer
for everyone), freed times offered one patient at a time in turn after a pause, held for the patient, moved on
when not taken, claimed as an ordinary booking; leaving; the staff pages. Time is frozen (time-machine)."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from booking import workflow
from booking.forms import encode_slot
from booking.models import Booking, BookingStatus, OutboxEmail, VisitType
from booking.notifications.outbox import drain
from booking.scheduling.availability import slots_for
from booking.scheduling.slotcheck import free_at
from booking.waitlist import offers
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tests.booking.waitlist.setup import NINE, NOW, TZ, WaitlistClinic
from tests.factories import form_data, make_staff

pytestmark = pytest.mark.django_db

OFFER_LINK = re.compile(r"http://\S+/book/waitlist/offer/(\S+)/")
LEAVE_LINK = re.compile(r"http://\S+(/book/waitlist/leave/\S+/)")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(clock):
    return WaitlistClinic()


def sent_offers():
    """(recipient, offer link token) for every offer email the mail server received, in order."""
    drain()
    return [(m.to[0], OFFER_LINK.search(m.body).group(1)) for m in mail.outbox if "/book/waitlist/offer/" in m.body]


def cancel_nine(clinic):
    workflow.change_status(clinic.nine, BookingStatus.CANCELLED, by=workflow.PATIENT)


def nine_is_free_online(clinic):
    return NINE in slots_for(clinic.service, VisitType.IN_CLINIC, clinic.location, use_cache=False)


# --- Offering a freed time -----------------------------------------------------------------------------------------


def test_a_freed_time_goes_to_one_patient_at_a_time_in_turn_and_is_then_simply_free(client, clinic, clock):
    first = clinic.entry("Ana", waited_days=5)
    second = clinic.entry("Ben", waited_days=3)
    urgent = clinic.entry("Cai", waited_days=1, urgent=True)
    cancel_nine(clinic)

    # The pause: a cancel-and-rebook by the same patient is not offered away.
    assert offers.offer_freed_times().offered == 0
    clock.shift(timedelta(minutes=3))
    assert offers.offer_freed_times().offered == 1
    assert offers.offer_freed_times().offered == 0  # a second pass offers nothing more
    assert [to for to, _ in sent_offers()] == ["cai@example.com"]  # urgent first

    # While held, nobody else can book it online; the picker hides it.
    assert not nine_is_free_online(clinic)
    response = client.post(
        reverse("booking:request"), form_data(clinic.service, NINE, clinic.location, email="x@example.com")
    )
    assert response.status_code == 200 and "That time was just taken" in response.content.decode()
    assert not Booking.objects.filter(email="x@example.com").exists()

    # Not taken in 15 minutes: it goes to who has waited longest.
    clock.shift(timedelta(minutes=14))
    assert offers.offer_freed_times().offered == 0
    clock.shift(timedelta(minutes=2))
    assert offers.offer_freed_times().offered == 1
    assert [to for to, _ in sent_offers()] == ["cai@example.com", "ana@example.com"]
    cai_offer = WaitlistOffer.objects.get(entry=urgent)
    assert cai_offer.status == OfferStatus.EXPIRED

    # The late click is told in plain words and stays on the list.
    _, cai_token = sent_offers()[0]
    page = client.post(reverse("waitlist:offer", args=[cai_token]), {"action": "claim"}).content.decode()
    assert "this offer has ended" in page and "still on the waitlist" in page
    assert WaitlistEntry.objects.get(pk=urgent.pk).status == EntryStatus.WAITING

    # Ana passes; Ben is next; Ben lets it run out; nobody is left, and the time is simply free.
    _, ana_token = sent_offers()[1]
    client.post(reverse("waitlist:offer", args=[ana_token]), {"action": "decline"})
    assert offers.offer_freed_times().offered == 1
    assert [to for to, _ in sent_offers()] == ["cai@example.com", "ana@example.com", "ben@example.com"]
    clock.shift(timedelta(minutes=16))
    assert offers.offer_freed_times().offered == 0
    assert nine_is_free_online(clinic)
    assert WaitlistOffer.objects.filter(entry=second).get().status == OfferStatus.EXPIRED
    assert {e.status for e in WaitlistEntry.objects.all()} == {EntryStatus.WAITING}
    assert len(sent_offers()) == 3 and first.pk


def test_claiming_books_the_time_once_and_opening_the_link_changes_nothing(client, clinic, clock):
    entry = clinic.entry("Ana")
    cancel_nine(clinic)
    clock.shift(timedelta(minutes=3))
    offers.offer_freed_times()
    ((to, token),) = sent_offers()
    url = reverse("waitlist:offer", args=[token])

    page = client.get(url)
    assert "Book this time" in page.content.decode() and "Thursday 5 March" in page.content.decode()
    assert not Booking.objects.filter(email="ana@example.com").exists()  # opening changes nothing

    clock.shift(timedelta(minutes=14))  # still inside the hold
    response = client.post(url, {"action": "claim"})
    booking = Booking.objects.get(email="ana@example.com")
    assert response.status_code == 302 and response["Location"] == reverse(
        "booking:manage", args=[booking.manage_token()]
    )
    assert booking.start == NINE and booking.practitioner == clinic.pat and booking.is_active
    assert client.post(url, {"action": "claim"}).status_code == 302  # a double tap: the same booking
    assert Booking.objects.filter(email="ana@example.com").count() == 1
    entry.refresh_from_db()
    assert entry.status == EntryStatus.BOOKED and entry.booking == booking
    drain()
    assert "acknowledgement" in OutboxEmail.objects.filter(recipient="ana@example.com").values_list("kind", flat=True)


def test_a_phone_booking_may_take_a_held_time_and_the_offer_is_then_void(client, clinic, clock):
    entry = clinic.entry("Ana")
    cancel_nine(clinic)
    clock.shift(timedelta(minutes=3))
    offers.offer_freed_times()
    ((_, token),) = sent_offers()
    # Staff see the held time as free (they book by phone); online it is not.
    assert free_at(clinic.service, VisitType.IN_CLINIC, clinic.location, clinic.pat, NINE) == [clinic.pat.pk]
    assert free_at(clinic.service, VisitType.IN_CLINIC, clinic.location, None, NINE, honour_holds=True) == []
    clinic.nine.status = BookingStatus.CONFIRMED
    clinic.nine.pk = None
    clinic.nine.reference = "PHO-NE1"
    clinic.nine.save()
    page = client.post(reverse("waitlist:offer", args=[token]), {"action": "claim"}).content.decode()
    assert "someone booked this time a moment before you" in page
    assert WaitlistOffer.objects.get().status == OfferStatus.TAKEN
    assert WaitlistEntry.objects.get(pk=entry.pk).status == EntryStatus.WAITING
    assert Booking.objects.active().filter(start=NINE).count() == 1


def test_never_offered_inside_the_minimum_notice(clinic, clock):
    clinic.entry("Ana")
    cancel_nine(clinic)
    clock.move_to(NINE - timedelta(hours=12, minutes=10))  # the hold would end inside the notice
    assert offers.offer_freed_times().offered == 0
    assert WaitlistOffer.objects.count() == 0


def test_only_times_that_suit_the_patient_are_offered(clinic, clock):
    clinic.entry("Ana", parts="afternoon,evening")
    clinic.entry("Ben", days="4")  # Friday: after its end date
    cancel_nine(clinic)
    clock.shift(timedelta(minutes=3))
    assert offers.offer_freed_times().offered == 0


def test_an_entry_expires_after_its_end_date(clinic, clock):
    entry = clinic.entry("Ana", until=date(2026, 3, 2))
    clock.move_to(NOW + timedelta(days=1))
    offers.offer_freed_times()
    entry.refresh_from_db()
    assert entry.status == EntryStatus.EXPIRED


# --- Joining and leaving -------------------------------------------------------------------------------------------


def join_data(clinic, **overrides):
    data = form_data(clinic.service, NINE, clinic.location, email="dee@example.com", name="Dee Park")
    for name in ("slot", "reason", "contact_preference", "action"):
        data.pop(name)
    data.update({"days": ["3"], "parts": ["morning"], "until": "2026-03-20"})
    data.update(overrides)
    return data


def test_the_picker_offers_the_waitlist_with_the_same_choices(client, clinic):
    page = client.get(reverse("booking:request") + f"?service={clinic.service.slug}").content.decode()
    link = re.search(r'href="([^"]+)" id="join-waitlist"', page).group(1).replace("&amp;", "&")
    assert link.startswith("/book/waitlist/?service=physio-60&visit=in_clinic")
    form = client.get(link).content.decode()
    assert f'<option value="{clinic.service.pk}" selected' in form


def test_joining_validates_each_field_in_plain_words(client, clinic):
    bad = join_data(clinic, days=[], parts=[], until="2026-03-01", email="not-an-email")
    page = client.post(reverse("waitlist:join"), bad).content.decode()
    assert "Please tick at least one day that suits you." in page
    assert "Please tick at least one part of the day that suits you." in page
    assert "This day has passed." in page
    assert "valid email address" in page
    far = client.post(reverse("waitlist:join"), join_data(clinic, until="2027-01-01")).content.decode()
    assert "We book up to 60 days ahead" in far
    assert WaitlistEntry.objects.count() == 0


def test_joining_saves_once_and_emails_a_link_to_leave(client, clinic, clock):
    data = join_data(clinic)
    response = client.post(reverse("waitlist:join"), data)
    assert response.status_code == 302 and response["Location"] == reverse("waitlist:joined")
    assert client.post(reverse("waitlist:join"), data).status_code == 302  # a double click
    entry = WaitlistEntry.objects.get()
    assert (entry.days, entry.parts, entry.until, entry.email) == ("3", "morning", date(2026, 3, 20), "dee@example.com")
    drain()
    (message,) = mail.outbox
    leave = LEAVE_LINK.search(message.body).group(1)

    # Opening the link changes nothing; the button (POST) takes the patient off the list.
    assert "Leave the waitlist" in client.get(leave).content.decode()
    assert WaitlistEntry.objects.get().status == EntryStatus.WAITING
    page = client.post(leave, follow=True).content.decode()
    assert "You have left the waitlist" in page
    assert WaitlistEntry.objects.get().status == EntryStatus.LEFT


def test_leaving_while_holding_an_offer_frees_the_time(client, clinic, clock):
    entry = clinic.entry("Ana")
    cancel_nine(clinic)
    clock.shift(timedelta(minutes=3))
    offers.offer_freed_times()
    assert not nine_is_free_online(clinic)
    client.post(entry.leave_url())
    assert WaitlistOffer.objects.get().status == OfferStatus.WITHDRAWN
    assert nine_is_free_online(clinic)


def test_the_answer_is_the_same_whether_or_not_the_address_is_known_or_at_its_cap(client, clinic, clock, settings):
    settings.WAITLIST_MAX_PER_EMAIL = 1
    settings.WAITLIST_RATE_LIMIT = 50
    first = client.post(reverse("waitlist:join"), join_data(clinic))
    again = client.post(reverse("waitlist:join"), join_data(clinic, request_key="b" * 32))
    assert first.status_code == again.status_code == 302 and first["Location"] == again["Location"]
    assert WaitlistEntry.objects.count() == 1
    drain()
    assert len(mail.outbox) == 2 and "already waiting" in mail.outbox[1].body


def test_bots_and_floods_are_refused(client, clinic, settings):
    settings.WAITLIST_RATE_LIMIT = 3  # the bot's attempt counts too
    page = client.post(reverse("waitlist:join"), join_data(clinic, website="http://spam.example")).content.decode()
    assert "couldn&#x27;t accept" in page or "couldn't accept" in page
    for i in range(3):
        last = client.post(reverse("waitlist:join"), join_data(clinic, request_key=f"k{i}" * 8, email=f"p{i}@e.com"))
    assert "several requests from your connection" in last.content.decode()
    assert WaitlistEntry.objects.count() == 2


def test_a_broken_or_forged_link_shows_the_invalid_link_page(client, clinic):
    assert client.get(reverse("waitlist:offer", args=["x" * 30])).status_code == 404
    assert client.post(reverse("waitlist:leave", args=["forged"])).status_code == 404


# --- The front desk ------------------------------------------------------------------------------------------------


@pytest.fixture
def desk(client, clinic):
    client.force_login(make_staff("desk", "Front desk"))
    return client


def test_the_front_desk_sees_the_waitlist_by_service_and_practitioner_and_the_offers(desk, clinic, clock):
    clinic.entry("Ana")
    cancel_nine(clinic)
    clock.shift(timedelta(minutes=3))
    offers.offer_freed_times()
    page = desk.get(
        reverse("admin:waitlist_waitlistentry_changelist") + f"?service__id__exact={clinic.service.pk}"
    ).content.decode()
    assert "Ana" in page and "Thursday" in page and "Offer a free time" in page
    offers_page = desk.get(reverse("admin:waitlist_waitlistoffer_changelist") + "?status__exact=offered")
    assert "Offered, held" in offers_page.content.decode()


def test_the_front_desk_adds_a_caller_and_offers_them_a_chosen_time(desk, clinic, clock):
    response = desk.post(
        reverse("admin:waitlist_waitlistentry_add"),
        {
            "service": clinic.service.pk,
            "visit_type": "in_clinic",
            "location": clinic.location.pk,
            "practitioner": "",
            "days": ["0", "3"],
            "parts": ["morning"],
            "until": "2026-03-31",
            "urgent": "on",
            "name": "Eve Caller",
            "email": "eve@example.com",
            "phone": "416 555 0199",
            "contact_preference": "call",
            "patient_type": "returning",
            "offers-TOTAL_FORMS": "0",
            "offers-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = WaitlistEntry.objects.get()
    assert entry.urgent and entry.added_by.username == "desk" and entry.phone == "+14165550199"
    cancel_nine(clinic)
    url = reverse("admin:waitlist_waitlistentry_offer", args=[entry.pk])
    page = desk.get(url).content.decode()
    value = f"{clinic.pat.pk}:{encode_slot(NINE)}"
    assert value in page and "suits the patient" in page
    desk.post(url, {"time": value})
    offer = WaitlistOffer.objects.get()
    assert (
        offer.start == NINE and offer.offered_by.username == "desk" and offer.expires_at == NOW + timedelta(minutes=15)
    )
    # A second offer while one is open is refused next to the field.
    assert "already has an open offer" in desk.post(url, {"time": value}).content.decode()


def test_from_a_free_time_staff_offer_it_to_a_waiting_patient_in_turn(desk, clinic, clock):
    clinic.entry("Ana", waited_days=2)
    urgent = clinic.entry("Ben", urgent=True)
    cancel_nine(clinic)
    url = reverse("admin:waitlist_waitlistentry_offer_time") + f"?practitioner={clinic.pat.pk}&start={NINE.isoformat()}"
    page = desk.get(url).content.decode()
    assert page.index("Offer to Ben") < page.index("Offer to Ana")
    desk.post(url, {"entry": urgent.pk})
    assert WaitlistOffer.objects.get().entry == urgent


def test_practitioners_and_strangers_cannot_see_the_waitlist(client, clinic):
    client.force_login(make_staff("doc", "Practitioner"))
    assert client.get(reverse("admin:waitlist_waitlistentry_changelist")).status_code == 403
    client.force_login(make_staff("ed", "Editor"))
    assert client.get(reverse("admin:waitlist_waitlistentry_changelist")).status_code == 403


def test_offer_emails_carry_no_health_details_and_staff_never_see_the_links(desk, clinic, clock):
    clinic.entry("Ana")
    cancel_nine(clinic)
    clock.shift(timedelta(minutes=3))
    offers.offer_freed_times()
    drain()
    (message,) = [m for m in mail.outbox if m.to == ["ana@example.com"]]
    assert "Calf cramps" not in message.body and "Night cramps" not in message.body
    row = OutboxEmail.objects.get(kind="waitlist_offer")
    page = desk.get(reverse("admin:booking_outboxemail_change", args=[row.pk])).content.decode()
    assert "/book/waitlist/offer/" not in page
    assert TZ


def test_the_email_worker_runs_the_offer_step_and_sends_the_offer(clinic, clock):
    from io import StringIO

    from django.core.management import call_command

    clinic.entry("Ana")
    cancel_nine(clinic)
    clock.shift(timedelta(minutes=3))
    call_command("run_worker", "--once", stdout=StringIO())
    assert [m.to for m in mail.outbox if "/book/waitlist/offer/" in m.body] == [["ana@example.com"]]


def test_from_the_patients_page_staff_add_them_to_the_waitlist_linked_to_their_record(desk, clinic):
    from booking.models import Patient

    patient = Patient.objects.create(name="Gia Record", email="gia@example.com", phone="+14165550177")
    page = desk.get(reverse("admin:booking_patient_change", args=[patient.pk])).content.decode()
    add_url = reverse("admin:waitlist_waitlistentry_add") + f"?patient={patient.pk}"
    assert add_url in page
    form = desk.get(add_url).content.decode()
    assert 'value="Gia Record"' in form and 'value="gia@example.com"' in form


def test_a_booked_offer_links_the_entry_to_the_patients_record(client, clinic, clock):
    entry = clinic.entry("Ana")
    cancel_nine(clinic)
    clock.shift(timedelta(minutes=3))
    offers.offer_freed_times()
    ((_, token),) = sent_offers()
    client.post(reverse("waitlist:offer", args=[token]), {"action": "claim"})
    entry.refresh_from_db()
    assert entry.patient is not None and entry.patient == entry.booking.patient


def test_a_free_time_clicked_on_the_calendar_can_be_offered_to_a_waiting_patient(desk, clinic):
    clinic.entry("Ana")
    cancel_nine(clinic)
    page = desk.get(
        reverse("admin:booking_booking_add") + f"?practitioner={clinic.pat.pk}&start={NINE.isoformat()}"
    ).content.decode()
    link = re.search(r'href="([^"]+)">Or offer this time to a waiting patient', page).group(1).replace("&amp;", "&")
    assert "Offer to Ana" in desk.get(link).content.decode()
