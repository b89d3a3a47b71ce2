"""Minimum necessary access in admin: no staff path yields a patient's signed link; practitioners see only
their own patients, the front desk all, editors none (a test per group and per view); and every read of
patient data in bulk is audited (only pages that were actually shown)."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from booking.models import Booking, BookingAccess, BulkAccess
from booking.notifications import emails, outbox
from tests.factories import FrontDeskClinic, local, make_staff

pytestmark = pytest.mark.django_db

LIST = reverse("admin:booking_booking_changelist")
DAY = reverse("admin:booking_booking_schedule_day")
WEEK = reverse("admin:booking_booking_schedule_week")
EXPORT = reverse("admin:booking_booking_export")


@pytest.fixture
def clinic():
    setup = FrontDeskClinic()
    setup.pat.user = make_staff("pat", "Practitioner")
    setup.pat.save()
    setup.own = setup.booking(local(2, 9), practitioner=setup.pat, email="own@example.com")
    setup.other = setup.booking(local(2, 11), practitioner=setup.sam, email="other@example.com")
    setup.editor = make_staff("editor", "Editor")
    setup.boss = make_staff("boss", superuser=True)
    return setup


def login(client, user):
    client.force_login(user)
    return client


def user_for(clinic, group):
    return {"desk": clinic.desk, "practitioner": clinic.pat.user, "editor": clinic.editor, "boss": clinic.boss}[group]


def text(response):
    if not hasattr(response, "_text"):  # a streamed body can be read only once
        body = b"".join(response.streaming_content) if response.streaming else response.content
        response._text = body.decode("utf-8-sig")
    return response._text


def shows(response, booking):
    return booking.reference in text(response)


# --- No staff path yields a patient's link --------------------------------------------------------


@pytest.mark.parametrize("group", ["desk", "practitioner", "editor", "boss"])
def test_view_on_site_gives_no_patient_link(client, clinic, group):
    login(client, user_for(clinic, group))
    content_type = ContentType.objects.get_for_model(Booking)
    response = client.get(f"/admin/r/{content_type.pk}/{clinic.own.pk}/")
    assert response.status_code == 404
    assert "/book/manage/" not in response.get("Location", "")


@pytest.mark.parametrize("group", ["desk", "boss"])
def test_booking_pages_in_admin_never_show_the_patient_link(client, clinic, group):
    login(client, user_for(clinic, group))
    email = emails.queue("acknowledgement", clinic.own)
    assert "/book/manage/" in emails.render(email)[0]  # the patient's own email carries it (the worker writes it)...
    for url in [
        LIST,
        reverse("admin:booking_booking_change", args=[clinic.own.pk]),
        reverse("admin:booking_booking_history", args=[clinic.own.pk]),
        reverse("admin:booking_booking_reschedule", args=[clinic.own.pk]),
        reverse("admin:booking_booking_decline", args=[clinic.own.pk]),
        reverse("admin:booking_outboxemail_changelist"),
        reverse("admin:booking_outboxemail_change", args=[email.pk]),  # ...its text in admin does not
        DAY + f"?date={local(2, 9).date().isoformat()}",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "/book/manage/" not in response.content.decode(), url
        assert clinic.own.manage_token() not in response.content.decode(), url
    outbox.drain()  # sent: the text kept on the row is shown without the link too
    page = client.get(reverse("admin:booking_outboxemail_change", args=[email.pk])).content.decode()
    assert "Hello" in page and "/book/manage/" not in page and clinic.own.manage_token() not in page


# --- Who sees which patients: a test per group and per view -------------------------------------------


@pytest.mark.parametrize(
    ("group", "status", "sees_own", "sees_other"),
    [("desk", 200, True, True), ("practitioner", 200, True, False), ("editor", 403, False, False)],
)
def test_booking_list(client, clinic, group, status, sees_own, sees_other):
    response = login(client, user_for(clinic, group)).get(LIST)
    assert response.status_code == status
    if status == 200:
        shown = {b.pk for b in response.context["cl"].result_list}
        assert (clinic.own.pk in shown, clinic.other.pk in shown) == (sees_own, sees_other)


@pytest.mark.parametrize(
    ("group", "own_status", "other_status"),
    [("desk", 200, 200), ("practitioner", 200, 302), ("editor", 403, 403)],
)
def test_booking_page(client, clinic, group, own_status, other_status):
    login(client, user_for(clinic, group))
    own = client.get(reverse("admin:booking_booking_change", args=[clinic.own.pk]))
    other = client.get(reverse("admin:booking_booking_change", args=[clinic.other.pk]))
    assert (own.status_code, other.status_code) == (own_status, other_status)
    if other_status == 302:  # "not found": the same answer as for an id that does not exist
        assert other["Location"] == reverse("admin:index")
        assert clinic.other.email not in client.get(other["Location"]).content.decode()


@pytest.mark.parametrize("view", [DAY, WEEK])
@pytest.mark.parametrize(
    ("group", "status", "sees_own", "sees_other"),
    [("desk", 200, True, True), ("practitioner", 200, True, False), ("editor", 403, False, False)],
)
def test_schedules(client, clinic, view, group, status, sees_own, sees_other):
    response = login(client, user_for(clinic, group)).get(view, {"date": local(2, 9).date().isoformat()})
    assert response.status_code == status
    if status == 200:
        if view == WEEK:  # one practitioner at a time: the other's week is asked for by name
            other = client.get(view, {"date": local(2, 9).date().isoformat(), "practitioner": clinic.sam.pk})
            assert (shows(response, clinic.own), shows(other, clinic.other)) == (sees_own, sees_other)
            return
        assert (shows(response, clinic.own), shows(response, clinic.other)) == (sees_own, sees_other)
        if view == DAY:
            names = {p.name for p in response.context["practitioners"]}
            assert names == ({"Pat Lee"} if group == "practitioner" else {"Pat Lee", "Sam Roy"})


@pytest.mark.parametrize(
    ("group", "status", "sees_own", "sees_other"),
    [("desk", 200, True, True), ("practitioner", 403, False, False), ("editor", 403, False, False)],
)
def test_export(client, clinic, group, status, sees_own, sees_other):
    response = login(client, user_for(clinic, group)).get(EXPORT)
    assert response.status_code == status
    if status == 200:
        assert (shows(response, clinic.own), shows(response, clinic.other)) == (sees_own, sees_other)


def test_a_practitioner_allowed_to_export_gets_only_their_own_patients(client, clinic):
    clinic.pat.user.user_permissions.add(Permission.objects.get(codename="export_booking"))
    login(client, clinic.pat.user)
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert shows(response, clinic.own) and not shows(response, clinic.other)
    action = client.post(LIST, {"action": "export_csv", "_selected_action": [clinic.own.pk, clinic.other.pk]})
    assert shows(action, clinic.own) and not shows(action, clinic.other)


@pytest.mark.parametrize(("group", "today_and_after"), [("desk", 2), ("practitioner", 1)])
def test_index_counts_cover_only_visible_bookings(client, clinic, group, today_and_after):
    clinic.booking(local(1, 9), practitioner=clinic.pat)
    clinic.booking(local(1, 10), practitioner=clinic.sam)
    counts = login(client, user_for(clinic, group)).get(reverse("admin:index")).context["front_desk"]
    assert counts["tomorrow"] == today_and_after


# --- Bulk reads are audited ---------------------------------------------------------------------------


def test_list_schedule_and_export_are_logged_with_who_filter_and_rows(client, clinic):
    login(client, clinic.desk)
    client.get(LIST, {"practitioner__id__exact": clinic.sam.pk})
    client.get(DAY, {"date": local(2, 9).date().isoformat()})
    client.get(WEEK, {"date": local(2, 9).date().isoformat()})
    b"".join(client.get(EXPORT, {"status__exact": "requested"}).streaming_content)
    client.post(LIST, {"action": "export_csv", "_selected_action": [clinic.own.pk]})
    log = list(BulkAccess.objects.order_by("pk").values_list("user__username", "view", "query", "rows"))
    assert log == [
        ("desk", "list", f"practitioner__id__exact={clinic.sam.pk}", 1),
        ("desk", "schedule_day", f"date={local(2, 9).date().isoformat()}", 2),
        ("desk", "schedule_week", f"date={local(2, 9).date().isoformat()}", 1),
        ("desk", "export", "status__exact=requested", 2),
        ("desk", "export", f"selected: {clinic.own.reference}", 1),
    ]
    assert all(entry.at is not None for entry in BulkAccess.objects.all())


def test_refused_views_are_not_logged_as_read(client, clinic):
    login(client, clinic.editor)
    assert client.get(reverse("admin:booking_booking_change", args=[clinic.own.pk])).status_code == 403
    assert client.get(LIST).status_code == 403
    assert client.get(DAY).status_code == 403
    assert client.get(EXPORT).status_code == 403
    login(client, clinic.pat.user)
    assert client.get(reverse("admin:booking_booking_change", args=[clinic.other.pk])).status_code == 302
    assert client.get(EXPORT).status_code == 403
    assert not BookingAccess.objects.exists()
    assert not BulkAccess.objects.exists()


def test_an_opened_booking_page_is_logged(client, clinic):
    login(client, clinic.pat.user)
    assert client.get(reverse("admin:booking_booking_change", args=[clinic.own.pk])).status_code == 200
    assert list(BookingAccess.objects.values_list("booking", "user__username")) == [(clinic.own.pk, "pat")]
