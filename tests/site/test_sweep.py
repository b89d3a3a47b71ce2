"""Every patient page and front-desk screen, attacked: no input gives a 500, pages with a form, a session or
patient data are never stored by a shared cache, patient pages are not indexed, and every POST needs the CSRF token.

The Django test client re-raises any exception a view lets escape, so an unhandled error fails with its
traceback; each status is also asserted below 500. Failures are gathered so one run lists every broken URL.
"""

import uuid
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking import workflow
from booking.intake.models import IntakeForm
from booking.models import BookingStatus, VisitType
from booking.waitlist import offers
from booking.waitlist.models import WaitlistEntry
from tests.factories import (
    FRONT_DESK_HOURS,
    PatientFactory,
    TreatmentFactory,
    local,
    make_booking,
    make_clinic,
    make_practitioner,
    make_service,
    make_staff,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]

OFFER_TOKEN = "known-offer-token-for-the-sweep-0123456789"

# Values for ids, dates, times and tokens that no page should trip over.
JUNK = [
    "",
    "0",
    "-1",
    "99999999999999999999",
    "1e308",
    "NaN",
    "2026-02-30",
    "notadate",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-12-07T10:15:00+25:00",
    "2026-12-07T10:15:00",
    "20261207T1015Z",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "../../etc/passwd",
    "２０２６-１２-０７",
    "\u202e\ufeff🙂",
    "x" * 3000,
]
SWEEP_JUNK = ["", "-1", "99999999999999999999", "2026-02-30", "0001-01-01T00:00:00+14:00", "\u202e🙂", "x" * 3000]
PARAMS = [
    "date", "start", "practitioner", "patient", "location", "service", "visit_type", "q", "from", "fragment",
    "scope", "version", "slot", "entry", "action", "week", "next", "pair", "a", "b", "other", "o", "p",
]  # fmt: skip
NUL = "a\x00b"


@pytest.fixture
def world(monkeypatch):
    _profile, location = make_clinic()
    pat_user = make_staff("pat", "Practitioner")
    pat = make_practitioner("Pat Lee", location=location, user=pat_user, hours=FRONT_DESK_HOURS)
    acupuncture = TreatmentFactory(slug="acupuncture", name="Acupuncture")
    service = make_service([pat], slug="acupuncture-first-visit", treatment=acupuncture)
    alex = PatientFactory(name="Alex Morgan", email="alex@example.com", phone="+14165550123")
    kim = PatientFactory(name="Alex Morgan", email="alex.m@example.com", phone="+14165550123")
    desk = make_staff("desk", "Front desk")
    booking = make_booking(
        pat, service, local(3, 10), location=location, patient=alex, patient_name="Alex Morgan",
        email="alex@example.com",
    )  # fmt: skip
    workflow.change_status(booking, BookingStatus.CONFIRMED, by=desk)  # sends the health form
    today = make_booking(
        pat, service, local(0, 9), location=location, patient=kim, patient_name="Alex Morgan",
        email="alex.m@example.com", status=BookingStatus.CONFIRMED,
    )  # fmt: skip
    form = IntakeForm.objects.get(booking=booking)
    entry = WaitlistEntry.objects.create(
        service=service, visit_type=VisitType.IN_CLINIC, location=location, days="0,1,2,3,4,5,6",
        parts="morning,afternoon",
        until=timezone.localdate() + timezone.timedelta(days=30), name="Robin Ames", email="robin@example.com",
        phone="+14165550142", created=timezone.now(),
    )  # fmt: skip
    monkeypatch.setattr(offers, "new_token", lambda: OFFER_TOKEN)
    offer = offers.make_offer(entry, pat.pk, local(5, 9))
    users = {
        "anonymous": None,
        "front desk": desk,
        "practitioner": pat_user,
        "editor": make_staff("editor", "Editor"),
        "superuser": make_staff("boss", superuser=True),
    }
    return SimpleNamespace(
        location=location, pat=pat, service=service, booking=booking, today=today, alex=alex, kim=kim,
        form=form, entry=entry, offer=offer, users=users,
    )  # fmt: skip


def admin(name, *args):
    return reverse(f"admin:{name}", args=args)


def patient_urls(w):
    """The pages a patient reaches by a link or from /book/."""
    return [
        "/visits/",
        "/visits/code/",
        "/visits/sign-out/",
        "/visits/new-person/",
        "/visits/book/",
        f"/visits/{w.booking.reference}/cancel/",
        f"/visits/{w.booking.reference}/move/",
        f"/visits/{w.booking.reference}/again/",
        "/book/waitlist/",
        "/book/waitlist/thanks/",
        w.entry.leave_url(),
        f"/book/waitlist/offer/{OFFER_TOKEN}/",
        w.form.patient_url(),
        reverse("intake:fill", kwargs={"token": w.form.token()}),
        reverse("intake:copy", kwargs={"token": w.form.token()}),
        w.form.staff_url(),
        "/book/?service=acupuncture-first-visit",
    ]


def junk_id_urls(w):
    """The same pages with ids and tokens that do not exist or cannot."""
    urls = []
    for bad in ["0", "-1", "99999999999999999999", "ABC-DEF", "x" * 300, "%C3%A9%E2%80%AE"]:
        urls += [
            f"/visits/{bad}/cancel/",
            f"/visits/{bad}/move/",
            f"/visits/{bad}/again/",
            f"/book/waitlist/leave/{bad}/",
            f"/book/waitlist/offer/{bad}/",
            f"/forms/{bad}/",
            f"/forms/{bad}/answers/",
            f"/forms/{bad}/copy/",
        ]
        urls += [admin(name, bad) for name in ADMIN_WITH_ID]
        urls += [admin("booking_booking_transition", bad, "arrived")]
    urls += [f"/health-records/{uuid.uuid4()}/", admin("waitlist_waitlistentry_offer", 999999)]
    return urls


ADMIN_WITH_ID = [
    "booking_booking_change",
    "booking_booking_confirm",
    "booking_booking_decline",
    "booking_booking_reschedule",
    "booking_booking_course",
    "booking_booking_course_cancel",
    "booking_patient_change",
    "booking_patient_history",
]


def admin_urls(w):
    b = w.booking.pk
    return [
        admin("booking_booking_schedule_day"),
        admin("booking_booking_schedule_week"),
        admin("booking_booking_schedule_css"),
        admin("booking_booking_changelist"),
        admin("booking_booking_add"),
        admin("booking_booking_change", b),
        admin("booking_booking_confirm", b),
        admin("booking_booking_decline", b),
        admin("booking_booking_reschedule", b),
        admin("booking_booking_course", b),
        admin("booking_booking_course_cancel", b),
        admin("booking_booking_transition", w.today.pk, "arrived"),
        admin("booking_booking_transition", b, "no-such-action"),
        admin("booking_patient_changelist"),
        admin("booking_patient_change", w.alex.pk),
        admin("booking_patientmerge_changelist"),
        admin("booking_patientmerge_add"),
        admin("waitlist_waitlistentry_changelist"),
        admin("waitlist_waitlistentry_add"),
        admin("waitlist_waitlistentry_change", w.entry.pk),
        admin("waitlist_waitlistentry_offer", w.entry.pk),
        admin("waitlist_waitlistentry_offer_time"),
        admin("waitlist_waitlistoffer_changelist"),
        admin("waitlist_waitlistoffer_change", w.offer.pk),
        admin("intake_intakeform_changelist"),
        admin("intake_intakeform_change", w.form.pk),
    ]


def client_for(user, **kwargs):
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


class Failures(list):
    def check(self, label, send, *args):
        try:
            response = send(*args)
        except Exception as error:  # noqa: BLE001  (gathered, then reported together)
            self.append(f"{label}: {type(error).__name__}: {str(error)[:200]}")
            return None
        if response.status_code >= 500:
            self.append(f"{label}: {response.status_code}")
        return response


def sweep(client, urls, failures, who):
    for url in urls:
        failures.check(f"{who} GET {url}", client.get, url)
        failures.check(f"{who} HEAD {url}", client.head, url)
        for value in SWEEP_JUNK:
            query = dict.fromkeys(PARAMS, value)
            failures.check(f"{who} GET {url} ?*={value[:40]!r}", client.get, url, query)
            failures.check(f"{who} POST {url} *={value[:40]!r}", client.post, url, query)
        failures.check(f"{who} POST {url} nul", client.post, url, {"date": NUL})
        failures.check(f"{who} PUT {url}", client.put, url, "x")


@pytest.mark.parametrize("who", ["anonymous", "front desk", "practitioner", "editor", "superuser"])
def test_no_500_on_any_new_page_for_anyone(world, who):
    failures = Failures()
    client = client_for(world.users[who])
    urls = patient_urls(world) + admin_urls(world)
    sweep(client, urls, failures, who)
    for url in junk_id_urls(world):
        failures.check(f"{who} GET {url}", client.get, url)
        failures.check(f"{who} POST {url}", client.post, url, {"action": "submit", "version": "x"})
    assert not failures, "\n".join(failures)


EDGE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59-14:00",
    "2026-02-30T10:00:00-05:00",
    "2026-12-07T10:15:00+25:00",
    "notadate",
    "99999999999999999999",
    "-1",
]


@pytest.mark.parametrize("value", EDGE_TIMES)
def test_time_links_with_a_real_practitioner_and_patient(world, value):
    client = client_for(world.users["superuser"])
    pid, patient = world.pat.pk, world.alex.pk
    failures = Failures()
    pages = [
        (admin("waitlist_waitlistentry_offer_time"), {"practitioner": pid, "start": value}),
        (admin("waitlist_waitlistentry_offer_time"), {"practitioner": value, "start": "2026-12-07T10:15:00-05:00"}),
        (admin("booking_booking_add"), {"practitioner": pid, "start": value, "patient": patient}),
        (admin("booking_booking_add"), {"practitioner": value, "patient": value}),
        (admin("booking_booking_schedule_day"), {"practitioner": pid, "date": value[:10]}),
        (admin("booking_booking_schedule_week"), {"practitioner": value, "date": value}),
        (admin("booking_booking_reschedule", world.booking.pk), {"from": value, "date": value, "fragment": "1"}),
        (admin("waitlist_waitlistentry_add"), {"patient": value}),
        (admin("booking_patientmerge_add"), {"a": world.alex.pk, "b": world.kim.pk, "pair": value}),
        (world.form.staff_url(), {"version": value}),
    ]
    for url, query in pages:
        failures.check(f"GET {url} {query}", client.get, url, query)
        body = {"entry": world.entry.pk, "slot": value, "from": value}
        failures.check(f"POST {url} {query}", client.post, f"{url}?{urlencode(query)}", body)
    assert not failures, "\n".join(failures)


def test_a_time_link_the_calendar_did_not_make_is_a_clear_404(world):
    # Found by the sweep: a year at the edge of the calendar or an id too large for the database was a 500.
    client = client_for(world.users["front desk"])
    url = admin("waitlist_waitlistentry_offer_time")
    for query in (
        {"practitioner": world.pat.pk, "start": "0001-01-01T00:00:00+14:00"},
        {"practitioner": world.pat.pk, "start": "9999-12-31T23:59:59-14:00"},
        {"practitioner": "99999999999999999999", "start": "2026-12-07T10:15:00-05:00"},
    ):
        assert client.get(url, query).status_code == 404


# --- Caching and indexing ------------------------------------------------------------------------------


def assert_private(response, label):
    cache_control = response.get("Cache-Control", "")
    assert "public" not in cache_control, f"{label}: {cache_control}"
    assert "private" in cache_control and ("no-store" in cache_control or "no-cache" in cache_control), (
        f"{label}: {cache_control!r}"
    )


def test_patient_pages_are_private_and_not_indexed(world):
    client = Client()
    for url in patient_urls(world):
        if url.startswith("/health-records/"):
            continue
        response = client.get(url)
        assert response.status_code < 500
        if url.startswith("/book/?"):
            continue  # the booking page has its own cache rules (tests/site/test_page_cache.py)
        assert_private(response, url)
        if response.status_code == 200:
            robots = response.get("X-Robots-Tag", "") + response.content.decode()
            assert "noindex" in robots, url


@pytest.mark.parametrize("who", ["front desk", "superuser", "practitioner"])
def test_staff_pages_are_private(world, who):
    client = client_for(world.users[who])
    for url in admin_urls(world) + [world.form.staff_url()]:
        response = client.get(url)
        assert response.status_code < 500
        if url.endswith(".css"):
            continue
        assert_private(response, f"{who} {url}")


# --- CSRF ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "superuser"])
def test_every_new_post_needs_the_csrf_token(world, who):
    client = client_for(world.users[who], enforce_csrf_checks=True)
    urls = [u for u in patient_urls(world) + admin_urls(world) if not u.endswith(".css")]
    for url in urls:
        response = client.post(url, {"action": "submit", "date_of_birth": "1984-03-27", "code": "123456"})
        assert response.status_code in (403, 405) or (
            who == "anonymous" and "/admin/" in url and response.status_code == 302
        ), f"{url}: {response.status_code}"
