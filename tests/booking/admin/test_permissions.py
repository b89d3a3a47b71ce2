"""Who may do what: the groups created by booking's data migration, proven through admin itself."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from booking.models import BookingStatus, TimeOff, WorkingHours
from tests.factories import PATIENT_NAME, local, make_practitioner, make_staff

pytestmark = pytest.mark.django_db

BOOKINGS = reverse("admin:booking_booking_changelist")


def test_the_three_groups_exist_with_their_permissions():
    def perms(name):
        return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.all()}

    desk, practitioner, editor = perms("Front desk"), perms("Practitioner"), perms("Editor")
    assert {"booking.view_booking", "booking.change_booking", "booking.export_booking"} <= desk
    assert {"booking.view_outboxemail", "clinic.view_clinicprofile", "clinic.view_location"} <= desk
    assert "booking.delete_booking" not in desk and "booking.delete_patient" not in desk
    # The front desk books callers by phone and keeps patient records; practitioners only read them.
    assert {"booking.add_booking", "booking.view_patient", "booking.add_patient", "booking.change_patient"} <= desk
    assert "booking.view_patient" in practitioner and "booking.change_patient" not in practitioner
    assert {"booking.view_booking", "booking.change_workinghours", "booking.add_timeoff"} <= practitioner
    assert "booking.change_booking" not in practitioner and "booking.export_booking" not in practitioner
    assert {"articles.add_article", "articles.change_article", "articles.view_article"} <= editor
    assert {"articles.add_articlefaq", "articles.change_treatment", "articles.change_condition"} <= editor
    assert not any(p.startswith("booking.") for p in editor)


# --- Front desk ---------------------------------------------------------------------------------


def test_front_desk_can_work_bookings_and_export(client, desk_clinic, django_capture_on_commit_callbacks):
    booking = desk_clinic.booking(local(2, 9))
    client.force_login(desk_clinic.desk)
    assert client.get(BOOKINGS).status_code == 200
    assert client.get(reverse("admin:booking_booking_change", args=[booking.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:booking_booking_transition", args=[booking.pk, "confirm"]), {"version": 1})
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert client.get(reverse("admin:booking_booking_export")).status_code == 200
    assert client.get(reverse("admin:booking_outboxemail_changelist")).status_code == 200
    assert client.get(reverse("admin:clinic_clinicprofile_changelist")).status_code == 200
    # Sees everyone's hours (and may change them), books callers, never deletes a booking.
    assert client.get(reverse("admin:booking_workinghours_changelist")).context["cl"].result_count == 28
    assert client.get(reverse("admin:booking_booking_add")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


# --- Practitioner -------------------------------------------------------------------------------


@pytest.fixture
def practitioner_login(client, desk_clinic):
    user = make_staff("pat", "Practitioner")
    desk_clinic.pat.user = user
    desk_clinic.pat.save()
    client.force_login(user)
    return user


def test_practitioner_sees_only_own_hours_and_time_off(client, desk_clinic, practitioner_login):
    TimeOff.objects.create(practitioner=desk_clinic.sam, start=local(5, 8), end=local(6, 8), reason="Holiday")
    own_off = TimeOff.objects.create(practitioner=desk_clinic.pat, start=local(7, 8), end=local(8, 8), reason="Course")
    hours = client.get(reverse("admin:booking_workinghours_changelist")).context["cl"].result_list
    assert {h.practitioner_id for h in hours} == {desk_clinic.pat.pk}
    off = client.get(reverse("admin:booking_timeoff_changelist")).context["cl"].result_list
    assert [t.pk for t in off] == [own_off.pk]
    sams = WorkingHours.objects.filter(practitioner=desk_clinic.sam).first()
    assert client.get(reverse("admin:booking_workinghours_change", args=[sams.pk])).status_code == 302  # not found
    assert client.post(reverse("admin:booking_workinghours_delete", args=[sams.pk]), {"post": "yes"}).status_code == 302
    assert WorkingHours.objects.filter(pk=sams.pk).exists()


def test_practitioner_adds_hours_only_for_themselves(client, desk_clinic, practitioner_login):
    add = reverse("admin:booking_timeoff_add")
    form = client.get(add).context["adminform"].form
    assert list(form.fields["practitioner"].queryset) == [desk_clinic.pat]
    response = client.post(
        add,
        {
            "practitioner": desk_clinic.sam.pk,
            "start_0": local(9, 8).strftime("%Y-%m-%d"),
            "start_1": "08:00",
            "end_0": local(9, 8).strftime("%Y-%m-%d"),
            "end_1": "12:00",
        },
    )
    assert response.status_code == 200  # Sam is not a valid choice
    assert not TimeOff.objects.filter(practitioner=desk_clinic.sam).exists()
    response = client.post(
        add,
        {
            "practitioner": desk_clinic.pat.pk,
            "start_0": local(9, 8).strftime("%Y-%m-%d"),
            "start_1": "08:00",
            "end_0": local(9, 8).strftime("%Y-%m-%d"),
            "end_1": "12:00",
            "reason": "Dentist",
        },
    )
    assert response.status_code == 302
    assert TimeOff.objects.get(practitioner=desk_clinic.pat).reason == "Dentist"


def test_practitioner_views_bookings_but_cannot_change_them(
    client, desk_clinic, practitioner_login, django_capture_on_commit_callbacks
):
    booking = desk_clinic.booking(local(2, 9))
    assert client.get(BOOKINGS).status_code == 200
    page = client.get(reverse("admin:booking_booking_change", args=[booking.pk])).content.decode()
    assert reverse("admin:booking_booking_transition", args=[booking.pk, "confirm"]) not in page
    assert 'name="staff_notes"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:booking_booking_transition", args=[booking.pk, "confirm"]))
    assert response.status_code == 403
    for name in ("decline", "confirm", "reschedule"):
        assert client.get(reverse(f"admin:booking_booking_{name}", args=[booking.pk])).status_code == 403
    response = client.post(
        BOOKINGS, {"action": "confirm_selected", "_selected_action": [booking.pk], "index": 0}, follow=True
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REQUESTED
    assert client.get(reverse("admin:booking_booking_export")).status_code == 403


def test_practitioner_without_a_linked_record_sees_no_hours(client, desk_clinic):
    make_practitioner("Unlinked")
    user = make_staff("nobody", "Practitioner")
    client.force_login(user)
    assert client.get(reverse("admin:booking_workinghours_changelist")).context["cl"].result_count == 0


# --- Editor -------------------------------------------------------------------------------------


@pytest.fixture
def editor(client):
    user = make_staff("editor", "Editor")
    client.force_login(user)
    return user


def test_editor_is_refused_bookings(client, desk_clinic, editor):
    booking = desk_clinic.booking(local(2, 9))
    assert client.get(BOOKINGS).status_code == 403
    assert client.get(reverse("admin:booking_booking_change", args=[booking.pk])).status_code == 403
    assert client.get(reverse("admin:booking_booking_export")).status_code == 403
    assert client.get(reverse("admin:booking_booking_schedule_day")).status_code == 403
    assert client.get(reverse("admin:booking_booking_schedule_week")).status_code == 403
    assert client.get(reverse("admin:booking_outboxemail_changelist")).status_code == 403
    assert client.get(reverse("admin:booking_bookingaccess_changelist")).status_code == 403
    assert client.post(reverse("admin:booking_booking_transition", args=[booking.pk, "cancel"])).status_code == 403


def test_editor_never_sees_a_patient_name(client, desk_clinic, editor, django_capture_on_commit_callbacks):
    booking = desk_clinic.booking(local(0, 23, 30))
    # The front desk works on it first, so the admin's "recent actions" have entries.
    desk_client = type(client)()
    desk_client.force_login(desk_clinic.desk)
    with django_capture_on_commit_callbacks(execute=True):
        desk_client.post(reverse("admin:booking_booking_transition", args=[booking.pk, "confirm"]), {"version": 1})
    pages = [
        reverse("admin:index"),
        reverse("admin:articles_article_changelist"),
        reverse("admin:articles_article_add"),
        reverse("admin:app_list", args=["articles"]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert PATIENT_NAME not in response.content.decode(), url
        assert booking.email not in response.content.decode(), url
    assert "front_desk" not in client.get(reverse("admin:index")).context


def test_editor_can_write_articles(client, editor):
    assert client.get(reverse("admin:articles_article_add")).status_code == 200
    assert client.get(reverse("admin:articles_treatment_add")).status_code == 200
