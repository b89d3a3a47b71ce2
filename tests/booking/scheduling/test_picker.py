"""The slot picker: each time sits under its own day, paging keeps them together, and what is sent is saved."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from booking import workflow
from booking.forms import MoveForm, encode_slot
from booking.models import Booking, VisitType
from booking.scheduling.picker import page_of_days
from booking.views import reply_by
from tests.factories import form_data, free_starts, make_clinic, make_practitioner, make_service, patient

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

DAY_AND_TIMES = re.compile(r"<legend>([^<]+)</legend>(.*?)</fieldset>", re.S)


@pytest.fixture(autouse=True)
def _run_on_commit(monkeypatch):
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())


@pytest.fixture
def clinic():
    profile, location = make_clinic()
    pat = make_practitioner(location=location)
    service = make_service([pat])
    return {"profile": profile, "location": location, "pat": pat, "service": service}


def assert_times_under_their_day(html):
    """Every radio sits in the fieldset of its own local date, and its accessible name starts with that date."""
    groups = DAY_AND_TIMES.findall(html)
    assert groups, "no days in the picker"
    for legend, body in groups:
        values = re.findall(r'name="slot" id="slot-[^"]+" value="([^"]+)"', body)
        assert values
        for value in values:
            start = timezone.localtime(datetime.strptime(value, "%Y%m%dT%H%MZ").replace(tzinfo=UTC))
            assert f"{start:%A} {start.day} {start:%B}" == legend.strip()
        assert body.count(f'<span class="visually-hidden">{legend.strip()}, </span>') == len(values)
    return groups


def test_page_of_days_pages_forward_and_back_and_finds_the_chosen_time():
    tz = timezone.get_default_timezone()
    starts = [datetime(2026, 12, 1 + d, h, tzinfo=tz) for d in range(14) for h in (9, 10)]
    days, earlier, later = page_of_days(starts, per_page=6)
    assert [d.date.day for d in days] == [1, 2, 3, 4, 5, 6] and earlier is None and later.day == 7
    assert all(len(d.times) == 2 for d in days)
    days, earlier, later = page_of_days(starts, first=later.isoformat(), per_page=6)
    assert days[0].date.day == 7 and earlier.day == 1 and later.day == 13
    days, _, _ = page_of_days(starts, slot=encode_slot(starts[20]), per_page=6)  # 11 December
    assert 11 in [d.date.day for d in days]
    days, _, _ = page_of_days(starts, first="not-a-date", per_page=6)
    assert days[0].date.day == 1


def test_several_days_with_their_times_and_the_zone_named(client, clinic):
    html = client.get("/book/?service=physio-60").content.decode()
    groups = assert_times_under_their_day(html)
    assert 5 <= len(groups) <= 7
    assert "Times are in Eastern Time (Toronto)." in html
    assert 'id="id_date"' not in html  # no separate date list that could disagree with the times


def test_later_dates_without_javascript_lands_on_the_times(client, clinic):
    html = client.get("/book/?service=physio-60").content.decode()
    later = re.search(r'name="from" value="([0-9-]+)" formaction="#times"', html).group(1)
    data = form_data(clinic["service"], free_starts(clinic["service"], location=clinic["location"])[0])
    data.pop("action")
    data.pop("slot")
    response = client.post(reverse("booking:request"), {**data, "from": later})
    page = response.content.decode()
    groups = assert_times_under_their_day(page)
    first = timezone.localtime(datetime.fromisoformat(later).replace(tzinfo=timezone.get_default_timezone()))
    assert groups[0][0].strip() == f"{first:%A} {first.day} {first:%B}"
    assert 'name="from"' in page and "Earlier dates" in page
    assert Booking.objects.count() == 0


def test_times_fragment_pages_with_from(client, clinic):
    params = {"service": clinic["service"].pk, "visit_type": "in_clinic", "location": clinic["location"].pk}
    first = client.get("/book/times/", params).content.decode()
    later = re.search(r'name="from" value="([0-9-]+)"', first).group(1)
    second = client.get("/book/times/", {**params, "from": later}).content.decode()
    assert_times_under_their_day(second)
    assert set(re.findall(r'value="(\d{8}T\d{4}Z)"', first)).isdisjoint(re.findall(r'value="(\d{8}T\d{4}Z)"', second))


def test_practitioner_who_does_not_offer_the_service_is_explained_at_the_times(client, clinic):
    other = make_practitioner("Sam Roy", slug="sam", location=clinic["location"])
    data = {"service": clinic["service"].pk, "visit_type": "in_clinic", "practitioner": other.pk, "action": "refresh"}
    html = client.post(reverse("booking:request"), data).content.decode()
    problem = re.search(r'<div class="notice notice-problem".*?</div>', html, re.S).group(0)
    assert "Sam Roy doesn&#x27;t offer Physio assessment." in problem
    assert "Any available practitioner" in problem and "Pat Lee" in problem
    assert 'name="slot"' not in html
    assert re.search(r'id="refresh-times" formaction="#times"', html)
    assert "Show available times" not in problem  # never points at a button that may be hidden


def test_service_not_offered_by_video_says_what_to_choose(client, clinic):
    clinic["service"].telehealth = False
    clinic["service"].save()
    data = {"service": clinic["service"].pk, "visit_type": "telehealth", "action": "refresh"}
    html = client.post(reverse("booking:request"), data).content.decode()
    assert "Physio assessment isn&#x27;t offered by video. Choose “In the clinic”" in html


def test_options_tell_the_script_what_fits(client, clinic):
    html = client.get("/book/").content.decode()
    option = re.search(rf'<option value="{clinic["service"].pk}"[^>]*>', html).group(0)
    assert 'data-visits="in_clinic telehealth"' in option
    assert f'data-practitioners="{clinic["pat"].pk}"' in option
    assert f'data-locations="{clinic["location"].pk}"' in option


def test_nothing_free_offers_alternatives_and_the_phone(client, clinic):
    idle = make_practitioner("Sam Roy", slug="sam", telehealth=False)  # no hours at all
    clinic["service"].practitioners.add(idle)
    params = {"service": clinic["service"].pk, "visit_type": "in_clinic", "practitioner": idle.pk}
    html = client.get("/book/times/", params).content.decode()
    assert "There are no free times online for these choices" in html
    assert "See free times with any available practitioner" in html
    assert "See free times for a telehealth (video) visit" in html
    assert "555-0100" in html


def booked(clinic, days_ahead=3):
    starts = free_starts(clinic["service"], location=clinic["location"])
    start = next(s for s in starts if s - timezone.now() > timedelta(days=days_ahead))
    return workflow.request_booking(
        service=clinic["service"],
        visit_type=VisitType.IN_CLINIC,
        location=clinic["location"],
        practitioner=None,
        start=start,
        patient=patient(),
    )


def test_move_page_pages_and_saves_exactly_the_time_sent(client, clinic):
    booking = booked(clinic)
    url = reverse("booking:move", args=[booking.manage_token()])
    html = client.get(url).content.decode()
    assert_times_under_their_day(html)
    assert "Eastern Time (Toronto)" in html
    later = re.search(r'name="from" value="([0-9-]+)"', html).group(1)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)  # the state the page showed
    page = client.post(url, {"from": later, "version": version}).content.decode()  # "Later dates", no JavaScript
    booking.refresh_from_db()
    assert booking.start == Booking.objects.get().start  # paging moved nothing
    chosen = re.findall(r'value="(\d{8}T\d{4}Z)"', page)[3]
    fragment = client.get(url, {"from": later, "fragment": "1"}).content.decode()
    assert chosen in fragment and "<html" not in fragment
    assert f'name="version" value="{version}"' in page  # carried through paging
    response = client.post(url, {"slot": chosen, "action": "move", "version": version})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert encode_slot(booking.start) == chosen


def test_one_move_form_checks_the_slot():
    assert not MoveForm({"slot": "garbage"}).is_valid()
    assert not MoveForm({"slot": ""}).is_valid()
    assert not MoveForm({"slot": "2" * 40}).is_valid()
    form = MoveForm({"slot": "20261218T1500Z"})
    assert form.is_valid() and form.cleaned_data["slot"] == datetime(2026, 12, 18, 15, tzinfo=UTC)


def test_booking_page_answers_the_next_questions(client, clinic):
    clinic["location"].map_url = "https://maps.example.com/?q=1+Test+St"
    clinic["location"].save()
    booking = booked(clinic)
    token = booking.manage_token()
    html = client.get(reverse("booking:manage", args=[token])).content.decode()
    assert "60 minutes" in html
    assert "Eastern Time (Toronto)" in html
    assert "https://maps.example.com/?q=1+Test+St" in html
    assert reverse("booking:calendar", args=[token]) in html
    assert "reply by the end of" in html
    ics = client.get(reverse("booking:calendar", args=[token]))
    assert ics["Content-Type"].startswith("text/calendar")
    body = ics.content.decode()
    local = timezone.localtime(booking.start)
    assert f"DTSTART;TZID=America/Toronto:{local:%Y%m%dT%H%M%S}" in body


def test_emails_name_the_zone_and_the_length(clinic, deliver):
    booked(clinic)
    body = deliver()[0].body
    assert "Eastern Time (Toronto)" in body and "Length: 60 minutes" in body
    assert "a.m.." not in body and "p.m.." not in body


def test_reply_by_skips_closed_days():
    from booking.models import Closure
    from clinic.models import OpeningHours

    for weekday in range(7):
        OpeningHours.objects.create(
            weekday=weekday, opens=None if weekday == 6 else "09:00", closes=None if weekday == 6 else "17:00"
        )
    Closure.objects.create(date=datetime(2026, 12, 25).date())
    thursday_evening = datetime(2026, 12, 24, 18, tzinfo=timezone.get_default_timezone())
    assert reply_by(thursday_evening).isoformat() == "2026-12-26"  # Friday closed, Saturday open
