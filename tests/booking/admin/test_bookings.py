"""The bookings list and page in admin: columns, filters, search, ordering, query count, CSV export."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking.admin.export import neutralise
from booking.models import BookingStatus, VisitType
from tests.factories import PATIENT_NAME, local, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

CHANGELIST = reverse("admin:booking_booking_changelist")
EXPORT = reverse("admin:booking_booking_export")


def refs(response):
    return [b.reference for b in response.context["cl"].result_list]


def test_list_shows_columns_badge_and_local_time(desk, desk_clinic):
    booking = desk_clinic.booking(local(2, 9, 30), status=BookingStatus.CONFIRMED)
    page = desk.get(CHANGELIST).content.decode()
    assert booking.reference in page
    assert PATIENT_NAME in page
    assert desk_clinic.service.name in page and "Pat Lee" in page
    # The badge has text, not colour alone, and a class for the admin CSS (no inline style).
    assert '<span class="booking-status booking-status--confirmed">Confirmed</span>' in page
    assert "admin-extra/booking.css" in page
    assert "style=" not in page.split('id="result_list"')[1].split("</table>")[0]
    assert local(2, 9, 30).strftime("%H:%M") in page and "09:30" in page


def test_upcoming_first_then_past_most_recent_first(desk, desk_clinic):
    past_old = desk_clinic.booking(local(-5, 9), status=BookingStatus.COMPLETED)
    past_recent = desk_clinic.booking(local(-1, 9), status=BookingStatus.COMPLETED)
    soon = desk_clinic.booking(local(1, 9))
    later = desk_clinic.booking(local(6, 9))
    assert refs(desk.get(CHANGELIST)) == [soon.reference, later.reference, past_recent.reference, past_old.reference]
    # A column header click still sorts.
    assert refs(desk.get(CHANGELIST, {"o": "2"}))[0] == past_old.reference


@pytest.fixture
def morning():
    """A fixed morning (before the staff login): "today at 23:00" is still to come, whatever the hour."""
    with time_machine.travel(datetime(2026, 12, 9, 10, tzinfo=ZoneInfo("America/Toronto")), tick=True):
        yield


@pytest.mark.parametrize(
    "when, expected",
    [
        ("today", ["today"]),
        ("tomorrow", ["tomorrow"]),
        ("upcoming", ["tomorrow", "next_month"]),
        ("past", ["yesterday"]),
    ],
)
def test_when_filter(morning, desk, desk_clinic, when, expected):
    made = {
        "yesterday": desk_clinic.booking(local(-1, 9), status=BookingStatus.COMPLETED),
        "today": desk_clinic.booking(local(0, 23, 0)),
        "tomorrow": desk_clinic.booking(local(1, 9)),
        "next_month": desk_clinic.booking(local(35, 9)),
    }
    got = set(refs(desk.get(CHANGELIST, {"when": when})))
    wanted = {made[name].reference for name in expected}
    if when == "upcoming":
        assert wanted <= got
    else:
        assert got == wanted


def test_this_week_filter(desk, desk_clinic):
    from django.utils import timezone

    today = timezone.localdate()
    monday_offset = -today.weekday()
    inside = desk_clinic.booking(local(monday_offset, 9), status=BookingStatus.COMPLETED)
    sunday = desk_clinic.booking(local(monday_offset + 6, 19))
    outside = desk_clinic.booking(local(monday_offset + 7, 9))
    got = refs(desk.get(CHANGELIST, {"when": "week"}))
    assert inside.reference in got and sunday.reference in got and outside.reference not in got


def test_filters_by_status_visit_type_practitioner(desk, desk_clinic):
    a = desk_clinic.booking(local(2, 9))
    b = desk_clinic.booking(local(2, 17), practitioner=desk_clinic.sam, visit_type=VisitType.TELEHEALTH)
    assert refs(desk.get(CHANGELIST, {"visit_type__exact": "telehealth"})) == [b.reference]
    assert refs(desk.get(CHANGELIST, {"practitioner__id__exact": desk_clinic.pat.pk})) == [a.reference]
    assert refs(
        desk.get(CHANGELIST, {"status__exact": "requested", "location__id__exact": desk_clinic.location.pk})
    ) == [a.reference]


@pytest.mark.parametrize(
    "term",
    ["(416) 555-0134", "416-555-0134", "4165550134", "+1 416 555 0134", "1-416-555-0134", "555 0134", "+14165550134"],
)
def test_search_phone_in_any_format(desk, desk_clinic, term):
    match = desk_clinic.booking(local(2, 9), phone="+14165550134", phone_as_typed="416.555.0134")
    desk_clinic.booking(local(2, 11), phone="+16475550199", phone_as_typed="647 555 0199")
    assert refs(desk.get(CHANGELIST, {"q": term})) == [match.reference]


def test_search_reference_name_email(desk, desk_clinic):
    match = desk_clinic.booking(local(2, 9), email="unique.person@example.org")
    desk_clinic.booking(local(2, 11), patient_name="Someone Else")
    assert refs(desk.get(CHANGELIST, {"q": match.reference})) == [match.reference]
    assert refs(desk.get(CHANGELIST, {"q": match.reference.replace("-", "").lower()})) == [match.reference]
    assert refs(desk.get(CHANGELIST, {"q": "unique.person"})) == [match.reference]
    assert match.reference in refs(desk.get(CHANGELIST, {"q": "Quixote"}))


def test_date_drill_down(desk, desk_clinic):
    booking = desk_clinic.booking(local(2, 9))
    start = local(2, 9)
    got = refs(desk.get(CHANGELIST, {"start__year": start.year, "start__month": start.month, "start__day": start.day}))
    assert got == [booking.reference]


def _changelist_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_changelist_query_count_is_constant(desk, desk_clinic):
    desk_clinic.booking(local(1, 9))
    desk.get(CHANGELIST)  # warm up: the first request also loads the session and permissions
    one = _changelist_queries(desk)
    for i in range(29):
        practitioner = desk_clinic.sam if i % 2 else desk_clinic.pat
        desk_clinic.booking(local(2 + i // 2, 9), practitioner=practitioner)
    thirty = _changelist_queries(desk)
    assert one == thirty, (one, thirty)
    assert thirty <= 13  # 12 to show the list, 1 to write the bulk-read audit row


def test_change_page_shows_details_notes_and_link(desk, desk_clinic):
    booking = desk_clinic.booking(local(2, 17), visit_type=VisitType.TELEHEALTH, staff_notes="Prefers mornings")
    page = desk.get(reverse("admin:booking_booking_change", args=[booking.pk])).content.decode()
    assert PATIENT_NAME in page and booking.email in page and "(416) 555-0134" in page
    assert 'name="staff_notes"' in page and "Prefers mornings" in page
    assert 'name="telehealth_url"' in page
    assert 'name="patient_name"' not in page  # patient details are read-only
    assert 'name="status"' not in page  # status only changes through the actions
    assert "style=" not in page.split('id="content-main"')[1].split('id="booking_form"')[0]


def test_front_desk_adds_by_phone_but_never_deletes(desk, desk_clinic):
    booking = desk_clinic.booking(local(2, 9))
    assert desk.get(reverse("admin:booking_booking_add")).status_code == 200  # a caller's booking
    assert desk.get(reverse("admin:booking_booking_delete", args=[booking.pk])).status_code == 403


# --- CSV ---------------------------------------------------------------------------------------


def read_csv(response):
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+14165550134", "'+14165550134"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("Zoë Ångström", "Zoë Ångström"),
        ("", ""),
        (None, ""),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_phones_in_the_export_are_readable_and_never_formulas(settings):
    from booking.admin.export import readable_phone

    settings.PHONE_REGION = "CA"
    assert readable_phone("+14165550134") == "(416) 555-0134"
    assert readable_phone("+442079460958") == "011 44 20 7946 0958"  # dialled from the clinic
    assert readable_phone("+12125550100") == "1 (212) 555-0100"
    for number in ("+14165550134", "+442079460958", "+61291234567"):
        assert neutralise(readable_phone(number)) == readable_phone(number)


def test_export_filtered_list(desk, desk_clinic):
    wanted = desk_clinic.booking(local(2, 9), patient_name="=cmd|' /C calc'!A0", email="zoe@example.com")
    desk_clinic.booking(local(2, 11), practitioner=desk_clinic.sam, patient_name="Zoë Ångström")
    response = desk.get(EXPORT, {"practitioner__id__exact": desk_clinic.pat.pk})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    header, *data = rows
    assert header[0] == "Reference" and "Patient" in header and "Phone" in header
    assert [row[0] for row in data] == [wanted.reference]
    row = dict(zip(header, data[0], strict=True))
    assert row["Patient"] == "'=cmd|' /C calc'!A0"
    assert row["Phone"] == "(416) 555-0134"  # as people write it: no "+", so no neutralising quote inside it
    assert row["Start"] == "09:00"
    assert "Night cramps" not in b"".join(desk.get(EXPORT).streaming_content).decode()  # no health details
    unicode_rows = read_csv(desk.get(EXPORT, {"q": "Ångström"}))
    assert unicode_rows[1][header.index("Patient")] == "Zoë Ångström"


def test_list_links_to_the_export_of_its_filters(desk, desk_clinic):
    desk_clinic.booking(local(2, 9))
    page = desk.get(CHANGELIST, {"practitioner__id__exact": desk_clinic.pat.pk}).content.decode()
    assert f'href="{EXPORT}?practitioner__id__exact={desk_clinic.pat.pk}"' in page


def test_export_action_on_selected(desk, desk_clinic):
    a = desk_clinic.booking(local(2, 9))
    desk_clinic.booking(local(2, 11))
    response = desk.post(CHANGELIST, {"action": "export_csv", "_selected_action": [a.pk], "index": 0})
    rows = read_csv(response)
    assert [r[0] for r in rows[1:]] == [a.reference]


def test_export_needs_the_permission(client, desk_clinic):
    desk_clinic.booking(local(2, 9))
    viewer = make_staff("viewer", "Practitioner")
    client.force_login(viewer)
    assert client.get(EXPORT).status_code == 403
    page = client.get(CHANGELIST).content.decode()
    assert EXPORT not in page
    assert 'value="export_csv"' not in page
