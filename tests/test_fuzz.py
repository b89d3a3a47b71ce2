"""Property-based tests: arbitrary input at every public URL and parameter never gives a 500.

The Django test client re-raises any exception a view lets escape, so "never a 500" is checked twice:
an unhandled error fails the example with its traceback, and every status is asserted below 500.
Invalid requests are never saved; a valid request is saved exactly once even when submitted twice.
"""

import re
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.validators import validate_email
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking import workflow
from booking.forms import decode_slot
from booking.models import Booking, BookingStatus, VisitType
from booking.tokens import make_token, read_token
from tests.factories import (
    ArticleFactory,
    ConditionFactory,
    TreatmentFactory,
    form_data,
    free_starts,
    make_clinic,
    make_practitioner,
    make_service,
    make_staff,
    patient,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]

FUZZ = settings(
    max_examples=50,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(FUZZ, max_examples=25)

NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "2",
    "99999999999999999999",
    "-99999999999999999999",
    "1e308",
    "NaN",
    "true",
    "null",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "\x00",
    "a\x00b",
    "%00",
    "../../etc/passwd",
    "２",
    "٣",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "99999-01-01",
    "-2026-01-01",
    "20260101T0900Z",
    "99991231T2359Z",
    "00010101T0000Z",
    "00010101T0030Z",
    "telehealth",
    "in_clinic",
    "x" * 5000,
    "é" * 300,
    "\u202e",
    "\ufeff",
    "🙂" * 50,
    "physio-60",
    "main",
    "pat",
    "email",
    "call",
    "new",
    "on",
    "refresh",
    "submit",
]
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
value = st.one_of(st.sampled_from(NASTY), text, st.integers().map(str))
param = st.one_of(value, st.lists(value, min_size=1, max_size=3))  # a list sends the parameter several times

BOOK_FIELDS = [
    "service",
    "visit_type",
    "location",
    "practitioner",
    "date",
    "slot",
    "name",
    "email",
    "phone",
    "contact_preference",
    "patient_type",
    "reason",
    "consent",
    "website",
    "action",
    "started",
    "request_key",
]
QUERY_KEYS = BOOK_FIELDS + ["visit", "treatment", "condition", "q", "page", "p", "format", "next"]
query = st.dictionaries(st.one_of(st.sampled_from(QUERY_KEYS), text.filter(bool)), param, max_size=6)


@pytest.fixture
def clinic():
    profile, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    treatment = TreatmentFactory(slug="acupuncture")
    condition = ConditionFactory(slug="muscle-cramps")
    ArticleFactory(slug="night-cramps", treatment=treatment, conditions=[condition])
    return {"profile": profile, "location": location, "service": service, "pat": pat}


def has_null(*things):
    """True if a NUL character is anywhere in these strings, lists or dicts (keys included)."""
    for thing in things:
        if isinstance(thing, dict):
            if has_null(*thing.keys(), *thing.values()):
                return True
        elif isinstance(thing, list | tuple):
            if has_null(*thing):
                return True
        elif isinstance(thing, str) and "\x00" in thing:
            return True
    return False


def ok(response, allowed=(200,), *sent):
    """Never a 500; one of the expected statuses; 400 when a NUL character was sent (RejectNullBytesMiddleware)."""
    assert response.status_code < 500
    if has_null(*sent):
        assert response.status_code == 400, response.status_code
    else:
        assert response.status_code in allowed, response.status_code


# --- GET parameters -----------------------------------------------------------------------------------


@FUZZ
@given(params=query)
def test_book_page_any_query(client, clinic, params):
    ok(client.get("/book/", params), (200,), params)


@FUZZ
@given(params=query)
def test_times_fragment_any_query(client, clinic, params):
    ok(client.get("/book/times/", params), (200,), params)


@FUZZ
@given(params=query)
def test_article_list_any_query(client, clinic, params):
    # An unknown filter is ignored; a page number that is not a page is a 404, never a 500.
    ok(client.get("/articles/", params), (200, 404), params)


@FUZZ
@given(
    url=st.sampled_from(
        [
            "/",
            "/treatments/",
            "/team/",
            "/contact/",
            "/privacy/",
            "/articles/feed/",
            "/sitemap.xml",
            "/robots.txt",
            "/healthz",
            "/articles/night-cramps/",
            "/treatments/acupuncture/",
            "/conditions/muscle-cramps/",
        ]
    ),
    params=query,
)
def test_other_pages_ignore_any_query(client, clinic, url, params):
    ok(client.get(url, params), (200, 404), params)


slug = st.one_of(st.from_regex(r"\A[-a-zA-Z0-9_]{1,80}\Z"), text.filter(bool), st.sampled_from(NASTY).filter(bool))


@FUZZ
@given(prefix=st.sampled_from(["/treatments/", "/conditions/", "/articles/", "/team/"]), slug=slug)
def test_any_slug_is_found_or_404(client, clinic, prefix, slug):
    ok(client.get(prefix + quote(slug, safe="") + "/"), (200, 404), slug)


# --- The booking form ---------------------------------------------------------------------------------


def valid_data(clinic, n=0, **overrides):
    start = free_starts(clinic["service"], location=clinic["location"])[n]
    return form_data(
        clinic["service"], start, clinic["location"], email=f"{uuid.uuid4().hex[:12]}@example.com", **overrides
    )


# Values that make each field invalid on their own (with every other field valid).
INVALID = {
    "service": st.sampled_from(["", "0", "-1", "abc", "99999999", "1e3", "\x00", "physio-60"]),
    "visit_type": st.sampled_from(["", "video", "IN_CLINIC", "\x00", "x" * 500]),
    "slot": st.one_of(
        st.sampled_from(
            ["", "tomorrow", "20200101T0900Z", "00010101T0000Z", "99991231T2359Z", "20260101T0900", "x" * 30]
        ),
        text.filter(lambda s: decode_slot(s) is None),
    ),
    "name": st.sampled_from(["", "   ", "\t\n", "x" * 121, "a\x00b"]),
    "email": st.one_of(
        st.sampled_from(
            ["", "plainaddress", "@example.com", "a@", "a@b@c.com", "a b@c.com", "x" * 250 + "@e.com", "a\x00@b.com"]
        ),
        text.filter(lambda s: "@" not in s),
    ),
    "phone": st.one_of(
        st.sampled_from(["", "12", "abc", "+1", "000", "555", "1" * 41, "\x00"]),
        st.text(alphabet="abcdefxyz ", max_size=20),
    ),
    "contact_preference": st.sampled_from(["", "fax", "pigeon", "EMAIL"]),
    "patient_type": st.sampled_from(["", "old", "NEW"]),
    "reason": st.text(min_size=501, max_size=600).filter(lambda s: len(s.strip()) > 500),
    "consent": st.just(None),  # left out
    "website": st.sampled_from(["http://spam.example", "x"]),  # the honeypot
    "started": st.sampled_from(["", "forged", "1700000000", "x" * 199]),  # unsigned start time
}


@FUZZ
@given(
    bad=st.dictionaries(st.sampled_from(sorted(INVALID)), st.none(), min_size=1, max_size=4).flatmap(
        lambda keys: st.fixed_dictionaries({k: INVALID[k] for k in keys})
    ),
    noise=st.dictionaries(st.sampled_from(["date", "practitioner", "location", "action"]), param, max_size=2),
)
def test_invalid_requests_are_never_saved(client, clinic, bad, noise):
    cache.clear()  # rate-limit counters would otherwise refuse everything after a few examples
    data = valid_data(clinic)
    data.update(noise)
    if data.get("action") != "refresh":
        data["action"] = "submit"
    for key, val in bad.items():
        if val is None:
            data.pop(key, None)
        else:
            data[key] = val
    ok(client.post("/book/", data), (200,), data)
    assert Booking.objects.count() == 0


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(BOOK_FIELDS), st.one_of(st.none(), param), max_size=6))
def test_any_post_body_never_500_and_only_valid_requests_are_saved(client, clinic, changes):
    cache.clear()
    data = valid_data(clinic)
    for key, val in changes.items():
        if val is None:
            data.pop(key, None)
        else:
            data[key] = val
    before = Booking.objects.count()
    response = client.post("/book/", data)
    ok(response, (200, 302), data)
    if Booking.objects.count() == before:
        return
    # Something was saved: it must be exactly what a valid request says.
    booking = Booking.objects.latest()
    assert response.status_code == 302
    booking.full_clean()
    one = lambda v: v[-1] if isinstance(v, list) else v  # noqa: E731  (the form reads the last of several)
    assert booking.patient_name == " ".join(str(one(data["name"])).split()) and booking.patient_name
    validate_email(booking.email)
    assert booking.email == str(one(data["email"])).strip().lower()
    assert re.fullmatch(r"\+[1-9]\d{6,14}", booking.phone)
    assert one(data.get("consent")) and not one(data.get("website"))
    assert len(booking.reason) <= 500
    assert booking.start == decode_slot(one(data["slot"]))
    assert booking.start > timezone.now() + timedelta(hours=django_settings.BOOKING_MIN_NOTICE_HOURS - 1)
    assert str(booking.service_id) == str(one(data["service"])).strip()


names = st.text(alphabet=st.characters(categories=["L", "Zs"]), min_size=1, max_size=100).filter(str.strip)
reasons = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=500)


@FEW
@given(name=names, reason=reasons, telehealth=st.booleans())
def test_a_valid_request_is_saved_exactly_once_when_submitted_twice(client, clinic, name, reason, telehealth):
    cache.clear()
    visit = VisitType.TELEHEALTH if telehealth else VisitType.IN_CLINIC
    location = None if telehealth else clinic["location"]
    start = free_starts(clinic["service"], visit, location)[0]
    data = form_data(
        clinic["service"],
        start,
        location,
        visit_type=visit,
        name=name,
        reason=reason,
        email=f"{uuid.uuid4().hex[:12]}@example.com",
    )
    before = Booking.objects.count()
    first = client.post("/book/", data)
    second = client.post("/book/", data)  # double click, or the back button and submit again
    assert first.status_code == 302 and second.status_code == 302
    # Both answers lead to the same booking (the signed link's timestamp may differ by a second).
    assert read_token(first["Location"].split("/")[-2]) == read_token(second["Location"].split("/")[-2])
    assert Booking.objects.count() == before + 1
    booking = Booking.objects.get(request_key=data["request_key"])
    assert booking.patient_name == " ".join(name.split()) and booking.start == start
    assert booking.reason == reason.strip()


# --- The patient's own page ---------------------------------------------------------------------------


@pytest.fixture
def booking(clinic):
    start = free_starts(clinic["service"], location=clinic["location"])[-1]
    return workflow.request_booking(
        service=clinic["service"],
        visit_type=VisitType.IN_CLINIC,
        location=clinic["location"],
        practitioner=None,
        start=start,
        patient=patient(),
    )


def tampered(token, data):
    """A valid token changed the ways an attacker or a mangled link would change it."""
    i = data.draw(st.integers(0, len(token) - 1))
    how = data.draw(st.sampled_from(["flip", "cut", "append", "drop", "swap-parts", "other-salt", "upper"]))
    if how == "flip":
        return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    if how == "cut":
        return token[:i] or "x"
    if how == "append":
        return token + data.draw(text.filter(bool))
    if how == "drop":
        return token[:i] + token[i + 1 :] or "x"
    if how == "swap-parts":
        return ":".join(reversed(token.split(":")))
    if how == "other-salt":
        from django.core import signing

        return signing.dumps({"r": "ABC-DEF"}, salt="another.salt", compress=True)
    return token.upper()


tokens = st.one_of(text.filter(bool), st.sampled_from(NASTY).filter(bool), st.from_regex(r"\A[\w.:-]{1,250}\Z"))


@FUZZ
@given(data=st.data())
def test_random_and_tampered_tokens_never_reach_a_booking(client, booking, data):
    good = make_token(booking)
    token = data.draw(st.one_of(tokens, st.just(None))) or tampered(good, data)
    if token == good:
        return
    path = "/book/manage/" + quote(token, safe="") + "/"
    for url in (path, path + "cancel/", path + "move/"):
        ok(client.get(url), (404,), token)
    body = data.draw(st.dictionaries(st.sampled_from(["slot", "date", "action"]), param, max_size=3))
    ok(client.post(path + "cancel/", body), (404,), token, body)
    ok(client.post(path + "move/", body), (404,), token, body)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED


@FUZZ
@given(
    get=query,
    body=st.dictionaries(st.sampled_from(["slot", "date", "action", "csrfmiddlewaretoken"]), param, max_size=4),
)
def test_manage_pages_with_a_valid_token_and_any_input(client, clinic, booking, get, body):
    booking.refresh_from_db()
    if booking.status != BookingStatus.REQUESTED:
        return
    start_before = booking.start
    free = set(free_starts(clinic["service"], location=clinic["location"], practitioner=booking.practitioner))
    base = booking.patient_url()
    ok(client.get(base, get), (200,), get)
    ok(client.get(base + "move/", get), (200,), get)
    ok(client.get(base + "cancel/", get), (200,), get)
    response = client.post(base + "move/", body)
    ok(response, (200, 302), body)
    booking.refresh_from_db()
    if booking.start != start_before:
        # Moved: only to a time that was free, and only from a well-formed slot.
        assert response.status_code == 302
        assert booking.start in free
        assert decode_slot(body["slot"] if isinstance(body["slot"], str) else body["slot"][-1]) == booking.start


@FEW
@given(token=st.one_of(st.none(), tokens))
def test_cancelled_booking_link_replayed(client, booking, token):
    url = booking.patient_url()
    version = {"version": booking.version}
    ok(client.post(url + "cancel/", version), (302,))
    ok(client.post(url + "cancel/", version), (302,))  # replayed: nothing more happens
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.events.filter(to_status=BookingStatus.CANCELLED).count() == 1
    ok(client.get(url))
    ok(client.post(url + "move/", {"slot": "20990101T0900Z"}), (302,))


@pytest.mark.parametrize("slot", ["00010101T0000Z", "00010101T0030Z", "99991231T2359Z"])
def test_far_off_slots_are_refused_not_500(client, clinic, booking, slot):
    # Found by the fuzzing above: years at the edge of the calendar overflowed time-zone arithmetic.
    ok(client.post(booking.patient_url() + "move/", {"slot": slot}))
    ok(client.post("/book/", {**valid_data(clinic), "slot": slot}))
    ok(client.get("/book/times/", {"service": clinic["service"].pk, "slot": slot, "date": slot[:8]}))
    assert Booking.objects.count() == 1


# --- Patient pages and front-desk screens added with the waitlist, sign-in and calendar ----------------------

STAFF_QUERY_KEYS = ["date", "start", "practitioner", "patient", "location", "service", "from", "fragment", "q"]
staff_query = st.dictionaries(st.one_of(st.sampled_from(STAFF_QUERY_KEYS), text.filter(bool)), param, max_size=4)


@FEW
@given(url=st.sampled_from(["/book/waitlist/", "/visits/", "/visits/code/", "/visits/book/"]), params=query)
def test_waitlist_and_visits_any_query_and_body(client, clinic, url, params):
    cache.clear()
    ok(client.get(url, params), (200, 302, 405), params)  # /visits/book/ is POST-only
    ok(client.post(url, params), (200, 302, 405), params)


@FEW
@given(
    url=st.sampled_from(["schedule/day/", "schedule/week/", "add/", "../../waitlist/waitlistentry/offer-time/"]),
    params=staff_query,
)
def test_front_desk_screens_any_query(client, clinic, url, params):

    desk = User.objects.filter(username="desk").first() or make_staff("desk", "Front desk")
    client.force_login(desk)
    path = django_settings.ADMIN_URL and "/" + django_settings.ADMIN_URL + "booking/booking/" + url
    ok(client.get(path, params), (200, 302, 404), params)
