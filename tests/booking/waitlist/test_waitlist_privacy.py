"""The waitlist's personal data over time and under staff eyes: purge_bookings anonymises entries that ended longer
ago than the retention period (rows and counts stay, offer links stop working), and every staff read of the waitlist
in admin is recorded in the bulk read log, while practitioners and editors are refused. Time is frozen."""

import re
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from booking.models import BulkAccess, OutboxEmail
from booking.waitlist import offers
from booking.waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from tests.booking.waitlist.setup import NOW, TZ, WaitlistClinic
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

OFFER_LINK = re.compile(r"http://\S+(/book/waitlist/offer/(\S+)/)")
LEAVE_LINK = re.compile(r"http://\S+(/book/waitlist/leave/\S+/)")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(clock):
    return WaitlistClinic()


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def at(clock, year, month, day):
    clock.move_to(datetime(year, month, day, 10, 0, tzinfo=TZ))


def offered(entry):
    """Offer a time two days ahead to `entry`; returns the offer and the link path in its email."""
    offer = offers.make_offer(entry, entry.service.practitioners.get().pk, offers.timezone.now() + timedelta(days=2))
    body = OutboxEmail.objects.get(context__waitlist_offer=offer.pk).body
    return offer, OFFER_LINK.search(body).group(1)


def leave_link(entry):
    body = OutboxEmail.objects.get(context__waitlist_entry=entry.pk).body
    return LEAVE_LINK.search(body).group(1)


@pytest.fixture
def history(clinic, clock):
    """With 24 months' retention on 2 March 2026 (cut-off 2 March 2024): three entries that ended before the
    cut-off (left, expired, booked), one that ended after it and one still waiting, each with its emails."""
    made = {}
    at(clock, 2023, 11, 1)
    made["left"] = clinic.entry("Ana", until=date(2024, 6, 30))
    offers.welcome(made["left"])
    made["left_offer"] = offered(made["left"])
    at(clock, 2023, 11, 2)
    offers.leave(made["left"])  # its offer is withdrawn

    at(clock, 2024, 1, 20)
    made["expired"] = clinic.entry("Ben", until=date(2024, 3, 1))  # its last day the day before the cut-off
    offers.welcome(made["expired"])
    made["expired_offer"] = offered(made["expired"])  # still "offered": its hold ended long ago

    at(clock, 2024, 3, 1)
    made["booked"] = clinic.entry("Cy", until=date(2024, 12, 31))
    WaitlistEntry.objects.filter(pk=made["booked"].pk).update(status=EntryStatus.BOOKED)

    at(clock, 2024, 3, 3)  # ended just after the cut-off: kept
    made["recent"] = clinic.entry("Dee", until=date(2024, 12, 31))
    offers.welcome(made["recent"])
    offers.leave(made["recent"])

    clock.move_to(NOW)
    made["waiting"] = clinic.entry("Eve")
    offers.welcome(made["waiting"])
    made["waiting_offer"] = offered(made["waiting"])
    return made


def counts():
    return WaitlistEntry.objects.count(), WaitlistOffer.objects.count(), OutboxEmail.objects.count()


def test_the_dry_run_reports_the_ended_entries_and_changes_nothing(history):
    out = run("purge_bookings", "--older-than", "24", "--dry-run")
    assert "would anonymise 3 waitlist entry(ies) that ended before 2024-03-02" in out
    assert not WaitlistEntry.objects.filter(anonymised_at__isnull=False).exists()
    assert set(WaitlistEntry.objects.values_list("name", flat=True)) == {"Ana", "Ben", "Cy", "Dee", "Eve"}


def test_purge_blanks_ended_entries_keeps_the_rows_and_their_links_open_nothing(client, history):
    before = counts()
    left_path = leave_link(history["left"])
    assert client.get(left_path).status_code == 200

    out = run("purge_bookings", "--older-than", "24")

    assert "Anonymised 3 waitlist entry(ies) that ended before 2024-03-02; cleared 4 email(s)." in out
    assert counts() == before  # rows stay: the waitlist counts do not change
    for key, status in (("left", EntryStatus.LEFT), ("expired", EntryStatus.WAITING), ("booked", EntryStatus.BOOKED)):
        entry = WaitlistEntry.objects.get(pk=history[key].pk)
        assert (entry.name, entry.email, entry.email_key, entry.phone, entry.phone_as_typed) == (
            "Anonymised",
            "",
            "",
            "",
            "",
        )
        assert entry.anonymised_at is not None and entry.status == status
        assert entry.service_id == history[key].service_id and entry.until == history[key].until
    # The offer links in those emails open nothing any more, nor does the link to leave.
    for key in ("left_offer", "expired_offer"):
        offer, path = history[key]
        assert client.get(path).status_code == 404
        assert offers.offer_for_token(path.rstrip("/").rsplit("/", 1)[-1]) is None
    assert client.get(left_path).status_code == 404
    assert WaitlistOffer.objects.get(pk=history["expired_offer"][0].pk).status == OfferStatus.EXPIRED
    # Their emails keep no body (so no link, no name) and no address.
    assert not OutboxEmail.objects.filter(recipient__in=["ana@example.com", "ben@example.com"]).exists()
    for email in OutboxEmail.objects.filter(recipient__startswith="anonymised+waitlist-"):
        assert email.body == "" and "Ana" not in email.subject and "Ben" not in email.subject
    # Entries that ended after the cut-off, or still waiting, keep everything; the waiting patient's offer works.
    assert WaitlistEntry.objects.get(pk=history["recent"].pk).name == "Dee"
    assert WaitlistEntry.objects.get(pk=history["waiting"].pk).email == "eve@example.com"
    assert client.get(history["waiting_offer"][1]).status_code == 200
    assert client.get(leave_link(history["recent"])).status_code == 200
    # Running again changes nothing more.
    assert "Anonymised 0 waitlist entry(ies)" in run("purge_bookings", "--older-than", "24")


# --- Staff reads ----------------------------------------------------------------------------------------------------


def reads():
    return list(BulkAccess.objects.order_by("pk").values_list("user__username", "view", "query", "rows"))


def test_each_staff_read_of_the_waitlist_is_recorded(client, clinic):
    ana, _ben = clinic.entry("Ana"), clinic.entry("Ben", waited_days=2)
    client.force_login(make_staff("desk", "Front desk"))
    assert client.get(reverse("admin:waitlist_waitlistentry_changelist") + "?q=Ana").status_code == 200
    assert client.get(reverse("admin:waitlist_waitlistentry_change", args=[ana.pk])).status_code == 200
    assert client.get(reverse("admin:waitlist_waitlistentry_offer", args=[ana.pk])).status_code == 200
    assert client.get(reverse("admin:waitlist_waitlistoffer_changelist")).status_code == 200
    assert reads() == [
        ("desk", BulkAccess.View.WAITLIST, "q=Ana", 1),
        ("desk", BulkAccess.View.WAITLIST_ENTRY, f"entry={ana.pk}", 1),
        ("desk", BulkAccess.View.WAITLIST_ENTRY, f"entry={ana.pk}", 1),
        ("desk", BulkAccess.View.WAITLIST_OFFERS, "", 0),
    ]
    # A page not shown (an entry that does not exist) is not a read.
    assert client.get(reverse("admin:waitlist_waitlistentry_change", args=[999999])).status_code == 302
    assert len(reads()) == 4
    # The privacy officer's bulk read log names these reads.
    client.force_login(make_staff("boss", superuser=True))
    page = client.get(reverse("admin:booking_bulkaccess_changelist")).content.decode()
    assert "Waitlist entry" in page and "Waitlist offers" in page


@pytest.mark.parametrize("group", ["Practitioner", "Editor"])
def test_practitioners_and_editors_are_refused_every_waitlist_page_and_nothing_is_recorded(client, clinic, group):
    entry = clinic.entry("Ana")
    client.force_login(make_staff("someone", group))
    for url in (
        reverse("admin:waitlist_waitlistentry_changelist"),
        reverse("admin:waitlist_waitlistentry_change", args=[entry.pk]),
        reverse("admin:waitlist_waitlistentry_offer", args=[entry.pk]),
        reverse("admin:waitlist_waitlistoffer_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Ana" not in response.content.decode()
    assert reads() == []
