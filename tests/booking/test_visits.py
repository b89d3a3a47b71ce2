"""Returning patients at /visits/: asked for as a patient would, and attacked as a stranger would."""

import re
import statistics
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import caches
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone

from booking.forms import encode_slot
from booking.models import Booking, BookingEvent, BookingStatus, OutboxEmail, OutboxStatus, Patient
from booking.visits.models import SignInCode
from tests.factories import (
    PatientFactory,
    form_data,
    free_starts,
    local,
    make_booking,
    make_clinic,
    make_practitioner,
    make_service,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]

FAMILY = "morgan.family@example.com"
STRANGER = "nobody.here@example.com"
VISITS = "/visits/"
CODE = "/visits/code/"


@pytest.fixture
def clinic():
    _, location = make_clinic()
    pat = make_practitioner("Pat Lee", location=location)
    service = make_service([pat], name="Physio assessment")
    starts = [s for s in free_starts(service, location=location) if s - timezone.now() > timedelta(days=2)]
    # One family under one address (the address typed with capitals once: the same folded key), and a stranger.
    alex = PatientFactory(name="Alex Morgan", email=FAMILY, phone="+14165550123")
    kim = PatientFactory(name="Kim Morgan", email=FAMILY.upper())
    robin = PatientFactory(name="Robin Other", email="robin@example.com")
    alex_next = make_booking(
        pat, service, starts[0], location=location, patient=alex, patient_name="Alex Morgan", email=FAMILY,
        status=BookingStatus.CONFIRMED,
    )  # fmt: skip
    alex_past = make_booking(
        pat, service, local(-20, 10), location=location, patient=alex, patient_name="Alex Morgan", email=FAMILY,
        status=BookingStatus.COMPLETED, phone="+14165550123", phone_as_typed="416 555 0123",
    )  # fmt: skip
    kim_past = make_booking(
        pat, service, local(-10, 11), location=location, patient=kim, patient_name="Kim Morgan", email=FAMILY,
        status=BookingStatus.COMPLETED,
    )  # fmt: skip
    other = make_booking(
        pat, service, starts[3], location=location, patient=robin, patient_name="Robin Other",
        email="robin@example.com", status=BookingStatus.CONFIRMED,
    )  # fmt: skip
    return {
        "location": location, "pat": pat, "service": service, "starts": starts,
        "alex_next": alex_next, "alex_past": alex_past, "kim_past": kim_past, "other": other,
        "alex": alex, "kim": kim, "robin": robin,
    }  # fmt: skip


def ask_for_code(client, email, ip="198.51.100.20"):
    return client.post(VISITS, {"email": email}, REMOTE_ADDR=ip)


def code_from_mail(deliver, email):
    messages = [m for m in deliver() if email in m.to]
    assert messages, "no code email"
    return re.search(r"\b(\d{6})\b", messages[-1].body).group(1)


def sign_in(client, email, deliver):
    ask_for_code(client, email)
    code = code_from_mail(deliver, email)
    response = client.post(CODE, {"code": code})
    assert response.status_code == 302 and response["Location"] == VISITS
    return client


@pytest.fixture
def family_client(client, clinic, deliver):
    return sign_in(client, FAMILY, deliver)


# --- signing in ---------------------------------------------------------------------------------------


def test_a_returning_patient_signs_in_with_the_emailed_code_and_sees_the_family(client, clinic, deliver):
    sign_in(client, FAMILY, deliver)
    page = client.get(VISITS).content.decode()
    assert "Alex Morgan" in page and "Kim Morgan" in page
    assert "Robin Other" not in page
    assert clinic["alex_next"].get_status_display() in page
    assert "Book again" in page and "Book for someone else in my family" in page
    assert "Eastern" in page or "ET" in page or "Toronto" in page  # the time names its zone


def test_the_code_email_carries_the_code_and_nothing_about_visits(client, clinic, deliver):
    ask_for_code(client, FAMILY)
    [message] = deliver()
    assert re.search(r"\b\d{6}\b", message.body)
    for secret in ("Alex", "Kim", "Physio", "Pat Lee", clinic["alex_next"].reference, "Night cramps"):
        assert secret not in message.body and secret not in message.subject
    row = OutboxEmail.objects.get(kind="sign_in_code")
    assert row.status == OutboxStatus.SENT and row.body == ""  # the code is not kept once sent


def test_the_code_is_stored_only_as_a_keyed_hash(client, clinic, deliver):
    ask_for_code(client, FAMILY)
    code = code_from_mail(deliver, FAMILY)
    row = SignInCode.objects.get()
    assert code not in row.code_digest and FAMILY not in row.address_digest
    assert len(row.code_digest) == 64


def test_an_address_without_visits_gets_the_same_page_and_no_email(client, clinic, deliver):
    response = ask_for_code(client, STRANGER)
    assert response.status_code == 302 and response["Location"] == CODE
    assert "If we have visits under this address, we've emailed you a code." in client.get(CODE).content.decode()
    assert deliver() == []
    assert SignInCode.objects.count() == 1  # the same work was done


def normalised(response):
    """What an attacker compares: status, header names and values, and the text (per-request tokens blanked)."""
    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)
    body = re.sub(r'nonce="[^"]+"', "NONCE", body)
    headers = {}
    for name, value in response.headers.items():
        if name in ("Expires", "Date"):
            value = "(the time of the answer)"
        elif name in ("Set-Cookie", "Content-Security-Policy"):
            value = re.sub(r"=[^;]*", "=…", value) if name == "Set-Cookie" else re.sub(r"'nonce-[^']+'", "N", value)
        headers[name] = value
    return response.status_code, headers, sorted(response.cookies), body


def test_enumeration_the_answers_for_a_patient_and_a_stranger_are_identical(clinic):
    answers = {}
    for email in (FAMILY, STRANGER):
        c = Client()
        asked = ask_for_code(c, email)
        shown = c.get(CODE)
        answers[email] = (normalised(asked), normalised(shown))
    assert answers[FAMILY] == answers[STRANGER]


@override_settings(VISITS_CODE_RATE_PER_CLIENT="1000/m", VISITS_CODE_RATE_PER_ADDRESS="1000/m")
def test_enumeration_the_answers_take_the_same_time(clinic, capsys):
    """50 requests for each address, interleaved; the medians differ by under 20 ms."""

    def timed(email):
        c = Client()
        started = time.perf_counter()
        response = ask_for_code(c, email)
        elapsed = time.perf_counter() - started
        assert response.status_code == 302
        return elapsed

    for email in (FAMILY, STRANGER):  # warm up both paths
        timed(email)
    known, unknown = [], []
    for _ in range(50):
        known.append(timed(FAMILY))
        unknown.append(timed(STRANGER))
    difference_ms = abs(statistics.median(known) - statistics.median(unknown)) * 1000
    with capsys.disabled():
        print(
            f"\nsign-in code timing: median with visits {statistics.median(known) * 1000:.2f} ms, "
            f"without {statistics.median(unknown) * 1000:.2f} ms, difference {difference_ms:.2f} ms"
        )
    assert difference_ms < 20


# --- guessing -------------------------------------------------------------------------------------------


def test_the_fourth_try_fails_even_with_the_right_code(client, clinic, deliver):
    ask_for_code(client, FAMILY)
    code = code_from_mail(deliver, FAMILY)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(3):
        assert "That code is not right" in client.post(CODE, {"code": wrong}).content.decode()
    response = client.post(CODE, {"code": code})
    assert response.status_code == 200
    assert "can no longer be used" in response.content.decode()
    assert "Alex Morgan" not in client.get(VISITS).content.decode()


def test_a_code_sent_to_another_address_fails(clinic, deliver):
    attacker = Client()
    ask_for_code(attacker, FAMILY)  # the victim's address: the attacker cannot read this code
    own = Client()
    ask_for_code(own, "attacker@example.com")
    Booking.objects.filter(pk=clinic["other"].pk).update(email="attacker@example.com", email_key="attacker@example.com")
    Patient.objects.filter(pk=clinic["robin"].pk).update(email="attacker@example.com", email_key="attacker@example.com")
    ask_for_code(own, "attacker@example.com")
    attacker_code = code_from_mail(deliver, "attacker@example.com")
    response = attacker.post(CODE, {"code": attacker_code})
    assert response.status_code == 200 and "That code is not right" in response.content.decode()
    assert "Alex Morgan" not in attacker.get(VISITS).content.decode()


def test_a_used_code_fails(client, clinic, deliver):
    ask_for_code(client, FAMILY)
    code = code_from_mail(deliver, FAMILY)
    pending = client.session["visits_pending"]
    assert client.post(CODE, {"code": code}).status_code == 302
    replay = Client()
    session = replay.session
    session["visits_pending"] = pending  # even with the pending sign-in copied over
    session.save()
    replay.cookies["sessionid"] = session.session_key
    response = replay.post(CODE, {"code": code})
    assert "can no longer be used" in response.content.decode()


def test_a_code_older_than_ten_minutes_fails(client, clinic, deliver):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        ask_for_code(client, FAMILY)
        code = code_from_mail(deliver, FAMILY)
        clock.shift(timedelta(minutes=10, seconds=1))
        response = client.post(CODE, {"code": code})
    assert "can no longer be used" in response.content.decode()


def test_twenty_code_requests_from_one_client_in_a_minute_are_limited(clinic):
    answers = [ask_for_code(Client(), f"person{i}@example.com").status_code for i in range(20)]
    assert answers.count(302) == 10 and answers.count(429) == 10
    assert SignInCode.objects.count() == 10


def test_requests_for_one_address_are_limited_whatever_the_client(clinic):
    answers = [ask_for_code(Client(), FAMILY, ip=f"203.0.113.{i}").status_code for i in range(8)]
    assert answers.count(302) == 5 and answers.count(429) == 3


def _redis_up():
    try:
        import redis

        return redis.Redis(host="127.0.0.1", port=6379, db=14, socket_connect_timeout=0.3).ping()
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
def test_the_client_limit_holds_across_two_instances_sharing_redis(clinic):
    """Two server instances share only Redis: each runs in its own thread, with its own cache connection, one
    after the other. The first takes the client's 10 requests; the second instance refuses the next 10."""
    shared = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/14"}}
    answers = {}
    with override_settings(CACHES=shared):
        caches["default"].clear()

        def instance(n):
            client = Client()
            try:
                answers[n] = [ask_for_code(client, f"p{n}-{i}@example.com").status_code for i in range(10)]
            finally:
                connections.close_all()  # this instance's own database connection

        for n in (1, 2):
            thread = threading.Thread(target=instance, args=(n,))
            thread.start()
            thread.join()
        caches["default"].clear()
    assert answers == {1: [302] * 10, 2: [429] * 10}


# --- the signed-in pages --------------------------------------------------------------------------------


def test_another_familys_visit_is_not_found(family_client, clinic):
    ref = clinic["other"].reference
    assert family_client.get(f"/visits/{ref}/cancel/").status_code == 404
    assert family_client.post(f"/visits/{ref}/cancel/", {"version": 1}).status_code == 404
    assert family_client.get(f"/visits/{ref}/move/").status_code == 404
    assert family_client.post(f"/visits/{ref}/again/").status_code == 404
    assert family_client.get("/visits/NOPE/cancel/").status_code == 404
    clinic["other"].refresh_from_db()
    assert clinic["other"].status == BookingStatus.CONFIRMED


def test_signed_out_a_visit_url_leads_to_sign_in(client, clinic):
    response = client.get(f"/visits/{clinic['alex_next'].reference}/cancel/")
    assert response.status_code == 302 and response["Location"] == VISITS


def test_every_visits_page_is_private_no_store_and_noindex(family_client, clinic):
    ref = clinic["alex_next"].reference
    for url in (VISITS, f"/visits/{ref}/cancel/", f"/visits/{ref}/move/"):
        response = family_client.get(url)
        assert response.status_code == 200, url
        assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"], url
        assert "noindex" in response["X-Robots-Tag"], url
        assert '<meta name="robots" content="noindex' in response.content.decode(), url
    for response in (Client().get(VISITS), Client().post(VISITS, {"email": FAMILY})):
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_prefilled_booking_form_is_never_kept_in_the_shared_cache(family_client, clinic):
    family_client.post(f"/visits/{clinic['alex_past'].reference}/again/")
    assert "Alex Morgan" in family_client.get("/book/").content.decode()
    assert "Alex Morgan" not in Client().get("/book/").content.decode()


def test_csrf_is_required_on_every_form(clinic, deliver):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(VISITS, {"email": FAMILY}).status_code == 403
    signed = sign_in(Client(), FAMILY, deliver)
    strict.cookies = signed.cookies  # a signed-in browser, a forged form from another site
    ref = clinic["alex_next"].reference
    for url, data in (
        (CODE, {"code": "123456"}),
        ("/visits/sign-out/", {}),
        (f"/visits/{ref}/cancel/", {"version": 1}),
        (f"/visits/{ref}/move/", {"slot": encode_slot(clinic["starts"][5]), "action": "move", "version": 1}),
        (f"/visits/{clinic['alex_past'].reference}/again/", {}),
        ("/visits/new-person/", {}),
        ("/visits/book/", {"patient": clinic["alex"].pk}),
    ):
        assert strict.post(url, data).status_code == 403, url
    clinic["alex_next"].refresh_from_db()
    assert clinic["alex_next"].status == BookingStatus.CONFIRMED


def test_the_session_ends_after_thirty_idle_minutes(client, clinic, deliver):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        sign_in(client, FAMILY, deliver)
        clock.shift(timedelta(minutes=29))
        assert "Alex Morgan" in client.get(VISITS).content.decode()  # activity keeps it alive
        clock.shift(timedelta(minutes=29))
        assert "Alex Morgan" in client.get(VISITS).content.decode()
        clock.shift(timedelta(minutes=31))
        page = client.get(VISITS).content.decode()
    assert "Alex Morgan" not in page and "Email me a code" in page
    assert "signed out after a while without activity" in page


def test_sign_out_ends_the_session(family_client, clinic):
    response = family_client.post("/visits/sign-out/")
    assert response.status_code == 302
    page = family_client.get(VISITS).content.decode()
    assert "Alex Morgan" not in page and "You&#x27;re signed out." in page


def test_cancel_a_visit_while_signed_in_once_with_the_history_saying_so(family_client, clinic, deliver):
    booking = clinic["alex_next"]
    url = f"/visits/{booking.reference}/cancel/"
    assert "Yes, cancel this appointment" in family_client.get(url).content.decode()
    first = family_client.post(url, {"version": booking.version})
    again = family_client.post(url, {"version": booking.version})  # a double tap
    assert first["Location"] == VISITS
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert again.status_code == 302  # the visit can no longer be changed: back to the list, nothing done
    [event] = BookingEvent.objects.filter(booking=booking, to_status=BookingStatus.CANCELLED)
    assert event.actor == "patient (signed in)" and "signed in" in event.note
    kinds = sorted(OutboxEmail.objects.filter(booking=booking).values_list("kind", flat=True))
    assert kinds == ["cancelled", "cancelled_notice"]


def test_move_a_visit_while_signed_in(family_client, clinic):
    booking = clinic["alex_next"]
    new_start = clinic["starts"][5]
    response = family_client.post(
        f"/visits/{booking.reference}/move/", {"slot": encode_slot(new_start), "action": "move", "version": 1}
    )
    assert response.status_code == 302 and response["Location"] == VISITS
    booking.refresh_from_db()
    assert booking.start == new_start
    assert BookingEvent.objects.filter(booking=booking, actor="patient (signed in)").count() == 1


def test_a_visit_inside_the_late_cancellation_window_cannot_be_changed_online(family_client, clinic):
    soon = make_booking(
        clinic["pat"], clinic["service"], timezone.now() + timedelta(hours=5), location=clinic["location"],
        patient_name="Alex Morgan", email=FAMILY, status=BookingStatus.CONFIRMED,
    )  # fmt: skip
    response = family_client.post(f"/visits/{soon.reference}/cancel/", {"version": soon.version})
    assert response.status_code == 302
    soon.refresh_from_db()
    assert soon.status == BookingStatus.CONFIRMED
    assert "can no longer be changed online" in family_client.get(VISITS).content.decode()


def test_book_again_opens_the_form_with_patient_service_practitioner_and_contact_filled(family_client, clinic):
    response = family_client.post(f"/visits/{clinic['alex_past'].reference}/again/")
    assert response.status_code == 302 and response["Location"].startswith("/book/")
    assert "Alex" not in response["Location"] and FAMILY not in response["Location"]
    form = family_client.get("/book/").context["form"]
    assert form.initial["service"] == clinic["service"].pk
    assert form.initial["practitioner"] == clinic["pat"].pk
    assert form.initial["name"] == "Alex Morgan"
    assert form.initial["email"] == FAMILY
    assert form.initial["phone"] == "416 555 0123"
    assert form.initial["patient_type"] == "returning"


def test_book_for_someone_else_in_the_family_keeps_the_address_only(family_client, clinic):
    family_client.post("/visits/new-person/")
    form = family_client.get("/book/").context["form"]
    assert form.initial["email"] == FAMILY
    assert not form.initial.get("name")


def test_the_visits_page_is_linked_from_the_header_and_booking_emails(client, clinic, deliver):
    assert 'href="/visits/"' in client.get("/book/").content.decode()
    from booking import workflow
    from tests.factories import patient

    workflow.request_booking(
        service=clinic["service"], visit_type="in_clinic", location=clinic["location"], practitioner=None,
        start=clinic["starts"][6], patient=patient(email="new@example.com"),
    )  # fmt: skip
    [ack] = [m for m in deliver() if "new@example.com" in m.to]
    assert "/visits/" in ack.body
    mail.outbox.clear()


def test_the_visits_page_costs_the_same_queries_with_more_visits(family_client, clinic):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert family_client.get(VISITS).status_code == 200
        return len(captured)

    few = queries()
    children = [PatientFactory(name=f"Child {n}", email=FAMILY) for n in range(4)]
    for day in range(30, 60):
        make_booking(
            clinic["pat"], clinic["service"], local(-day, 9), location=clinic["location"],
            patient=children[day % 4], patient_name=f"Child {day % 4}", email=FAMILY,
            status=BookingStatus.COMPLETED,
        )  # fmt: skip
    assert queries() == few


# --- on patient records: the family, booking while signed in, isolation, the front desk's view ------------


def book(client, clinic, slot_index, **fields):
    data = form_data(clinic["service"], clinic["starts"][slot_index], clinic["location"], email=FAMILY, **fields)
    return client.post("/book/", data, REMOTE_ADDR="203.0.113.9")


def test_every_record_under_the_folded_address_is_listed_even_without_bookings(client, clinic, deliver):
    # Staff made a record for the youngest child; the address typed with a +tag and capitals folds to the family's.
    PatientFactory(name="Sam Morgan", email="Morgan.Family+kids@example.com")
    PatientFactory(name="Stranger Morgan", email="morgan.family@example.org")
    sign_in(client, FAMILY, deliver)
    page = client.get(VISITS).content.decode()
    for name in ("Alex Morgan", "Kim Morgan", "Sam Morgan"):
        assert f">{name}</h2>" in page
    assert "Stranger Morgan" not in page and "Robin Other" not in page
    sam = page.split(">Sam Morgan</h2>")[1].split("</section>")[0]
    assert "No upcoming visits." in sam and "Book a visit" in sam


def test_an_address_whose_only_record_has_no_bookings_gets_a_code_and_sees_the_record(client, clinic, deliver):
    PatientFactory(name="Lee Newcomer", email="lee@example.com")
    sign_in(client, "lee@example.com", deliver)
    page = client.get(VISITS).content.decode()
    assert ">Lee Newcomer</h2>" in page and "Alex Morgan" not in page


def test_sign_in_sets_last_signed_in_on_every_record_under_the_address(client, clinic, deliver):
    sign_in(client, FAMILY, deliver)
    now = timezone.now()
    for name in ("alex", "kim"):
        clinic[name].refresh_from_db()
        assert clinic[name].last_signed_in_at is not None and now - clinic[name].last_signed_in_at < timedelta(
            minutes=1
        )
    clinic["robin"].refresh_from_db()
    assert clinic["robin"].last_signed_in_at is None


def test_a_wrong_code_sets_no_sign_in_time(client, clinic, deliver):
    ask_for_code(client, FAMILY)
    code = code_from_mail(deliver, FAMILY)
    client.post(CODE, {"code": f"{(int(code) + 1) % 10**6:06d}"})
    assert not Patient.objects.filter(last_signed_in_at__isnull=False).exists()


def test_the_patients_admin_page_shows_when_they_last_signed_in(client, clinic, deliver):
    from django.urls import reverse

    from tests.factories import make_staff

    desk = Client()
    desk.force_login(make_staff("desk", "Front desk"))
    page = desk.get(reverse("admin:booking_patient_change", args=[clinic["alex"].pk])).content.decode()
    assert "Last signed in at /visits/" in page and "Never" in page
    with time_machine.travel(local(0, 9, 41), tick=False):
        sign_in(client, FAMILY, deliver)
    page = desk.get(reverse("admin:booking_patient_change", args=[clinic["kim"].pk])).content.decode()
    assert "09:41" in page


def test_book_again_attaches_the_booking_to_that_record_without_matching(family_client, clinic, deliver):
    family_client.post(f"/visits/{clinic['alex_past'].reference}/again/")
    form = family_client.get("/book/").context["form"]
    assert form.initial["for_patient"] == str(clinic["alex"].pk)
    # Another phone than the record's: a strict match would have made a new record; signed in, no guessing.
    response = book(family_client, clinic, 6, for_patient=str(clinic["alex"].pk), name="Alex Morgan",
                    phone="416 555 0999", patient_type="returning")  # fmt: skip
    assert response.status_code == 302 and response["Location"].startswith("/book/")
    booking = Booking.objects.get(start=clinic["starts"][6])
    assert booking.patient == clinic["alex"]
    assert Patient.objects.filter(email_key=FAMILY).count() == 2
    [requested] = BookingEvent.objects.filter(booking=booking)
    assert requested.actor == "patient (signed in)" and "signed in" in requested.note
    assert "Alex Morgan" in family_client.get(VISITS).content.decode().split(">Kim Morgan</h2>")[0]


def test_the_chosen_record_decides_whom_the_booking_is_for(family_client, clinic):
    book(family_client, clinic, 6, for_patient=str(clinic["kim"].pk), name="")
    booking = Booking.objects.get(start=clinic["starts"][6])
    assert booking.patient == clinic["kim"] and booking.patient_name == "Kim Morgan"


def test_someone_else_in_the_family_becomes_a_new_record_under_the_address(family_client, clinic):
    family_client.post("/visits/new-person/")
    form = family_client.get("/book/").context["form"]
    assert form.initial["for_patient"] == "new" and form.initial["email"] == FAMILY
    before = Patient.objects.count()
    missing = book(family_client, clinic, 6, for_patient="new", name="")
    assert missing.status_code == 200
    assert "Please enter the name of the person this visit is for." in missing.content.decode()
    assert Booking.objects.filter(start=clinic["starts"][6]).count() == 0 and Patient.objects.count() == before
    response = book(family_client, clinic, 6, for_patient="new", name="Jo Morgan")
    assert response.status_code == 302
    booking = Booking.objects.get(start=clinic["starts"][6])
    jo = booking.patient
    assert jo.name == "Jo Morgan" and jo.email_key == FAMILY and Patient.objects.count() == before + 1
    assert jo.possible_duplicate_of is None
    page = family_client.get(VISITS).content.decode()
    assert ">Jo Morgan</h2>" in page
    # The visits page now covers the new record: the next booking may choose it.
    assert str(jo.pk) in [v for v, _label in family_client.get("/book/").context["form"].fields["for_patient"].choices]


def test_someone_else_with_a_listed_name_is_flagged_for_staff(family_client, clinic):
    book(family_client, clinic, 6, for_patient="new", name="kim  MORGAN")
    booking = Booking.objects.get(start=clinic["starts"][6])
    assert booking.patient != clinic["kim"] and booking.patient.possible_duplicate_of == clinic["kim"]


@pytest.mark.parametrize("posted", ["robin", "-1", "abc", "1e3", "99999999999999999999999", "", " "])
def test_a_patient_id_from_outside_the_sign_in_is_refused_and_nothing_saved(family_client, clinic, posted):
    value = str(clinic["robin"].pk) if posted == "robin" else posted
    bookings, records = Booking.objects.count(), Patient.objects.count()
    response = book(family_client, clinic, 6, for_patient=value, name="Robin Other")
    assert response.status_code == 200
    assert "Please choose who this visit is for" in response.content.decode()
    assert Booking.objects.count() == bookings and Patient.objects.count() == records
    assert not BookingEvent.objects.filter(booking__patient=clinic["robin"]).exclude(booking=clinic["other"]).exists()


def test_a_record_moved_to_another_address_since_sign_in_is_refused(family_client, clinic):
    family_client.get(VISITS)
    Patient.objects.filter(pk=clinic["kim"].pk).update(email="kim@example.com", email_key="kim@example.com")
    response = book(family_client, clinic, 6, for_patient=str(clinic["kim"].pk))
    assert response.status_code == 200 and "Please choose who this visit is for" in response.content.decode()
    assert not Booking.objects.filter(start=clinic["starts"][6]).exists()


def test_signed_in_a_booking_under_another_address_is_refused(family_client, clinic):
    response = book(family_client, clinic, 6, for_patient=str(clinic["alex"].pk))
    assert response.status_code == 302  # the family's own address works
    response = family_client.post(
        "/book/",
        form_data(clinic["service"], clinic["starts"][7], clinic["location"], email="robin@example.com",
                  for_patient=str(clinic["alex"].pk)),
        REMOTE_ADDR="203.0.113.9",
    )  # fmt: skip
    assert response.status_code == 200 and "signed in with another email address" in response.content.decode()
    assert not Booking.objects.filter(start=clinic["starts"][7]).exists()


def test_signed_out_a_posted_patient_id_is_ignored_and_the_strict_match_decides(client, clinic):
    response = book(client, clinic, 6, for_patient=str(clinic["robin"].pk), name="Robin Other")
    assert response.status_code == 302
    booking = Booking.objects.get(start=clinic["starts"][6])
    assert booking.patient != clinic["robin"] and booking.patient.email_key == FAMILY


def test_book_a_visit_for_a_record_without_past_visits(family_client, clinic):
    sam = PatientFactory(name="Sam Morgan", email=FAMILY, phone="+14165550177")
    family_client.get(VISITS)  # the list covers Sam now
    assert family_client.post("/visits/book/", {"patient": sam.pk}).status_code == 302
    form = family_client.get("/book/").context["form"]
    assert form.initial["for_patient"] == str(sam.pk) and form.initial["name"] == "Sam Morgan"
    for outside in (clinic["robin"].pk, "x", "", 10**30):
        assert family_client.post("/visits/book/", {"patient": outside}).status_code == 404


def test_the_booking_form_offers_only_the_records_the_sign_in_covers(family_client, clinic):
    choices = dict(family_client.get("/book/").context["form"].fields["for_patient"].choices)
    assert set(choices) == {str(clinic["alex"].pk), str(clinic["kim"].pk), "new"}
    page = family_client.get("/book/").content.decode()
    assert "Who is this visit for?" in page and "Robin Other" not in page
