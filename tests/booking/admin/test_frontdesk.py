"""The front desk's actions in admin: buttons on the booking page and list actions.

Each action goes through booking.workflow: the state rules hold, a BookingEvent names the staff
user, the right email is queued and sent after commit, and the admin reports what it did."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from booking.forms import encode_slot
from booking.models import Booking, BookingEvent, BookingStatus, OutboxEmail, VisitType
from tests.factories import PATIENT_NAME, local

pytestmark = [pytest.mark.django_db, pytest.mark.clock]

CHANGELIST = reverse("admin:booking_booking_changelist")


def do(booking, action):
    return reverse("admin:booking_booking_transition", args=[booking.pk, action])


def seen(booking, **data):
    """The form data a booking's page posts: its fields plus the version the page showed (the current one)."""
    return {"version": Booking.objects.get(pk=booking.pk).version, **data}


def msgs(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def ics_of(message):
    (attachment,) = [a for a in message.attachments if a[0].endswith(".ics")]
    return Calendar.from_ical(attachment[1])


def event_of(cal):
    return next(c for c in cal.walk() if c.name == "VEVENT")


def refresh(booking):
    booking.refresh_from_db()
    return booking


# --- single booking: buttons on the page -------------------------------------------------------


def test_booking_page_offers_the_allowed_actions(desk, desk_clinic):
    booking = desk_clinic.booking(local(3, 10))
    page = desk.get(reverse("admin:booking_booking_change", args=[booking.pk])).content.decode()
    assert do(booking, "confirm") in page
    assert reverse("admin:booking_booking_decline", args=[booking.pk]) in page
    assert reverse("admin:booking_booking_reschedule", args=[booking.pk]) in page
    assert do(booking, "cancel") in page
    # Completing a future booking is never offered.
    assert do(booking, "complete") not in page
    assert do(booking, "no_show") not in page


def test_confirm_records_event_sends_email_with_ics(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(3, 10))
    with worker_runs():
        response = desk.post(do(booking, "confirm"), seen(booking))
    assert response.status_code == 302
    assert refresh(booking).status == BookingStatus.CONFIRMED
    event = booking.events.get()
    assert (event.user, event.actor, event.from_status, event.to_status) == (
        desk_clinic.desk,
        "desk",
        BookingStatus.REQUESTED,
        BookingStatus.CONFIRMED,
    )
    (message,) = mail.outbox
    assert message.to == [booking.email]
    assert booking.reference in message.subject
    cal = ics_of(message)
    assert str(cal["METHOD"]) == "PUBLISH"
    vevent = event_of(cal)
    assert str(vevent["UID"]).startswith(f"booking-{booking.reference}@")
    assert int(vevent["SEQUENCE"]) == 1
    # The clinic's time zone, not UTC.
    assert vevent["DTSTART"].dt.tzinfo is not None
    assert str(vevent["DTSTART"].params.get("TZID")) == "America/Toronto"
    assert vevent["DTSTART"].dt == booking.start
    assert OutboxEmail.objects.get(booking=booking, kind="confirmation").status == "sent"
    assert any("Confirmed 1 booking" in m for m in msgs(response))


def test_confirm_a_cancelled_booking_is_refused(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(3, 10), status=BookingStatus.CANCELLED)
    with worker_runs():
        response = desk.post(do(booking, "confirm"), seen(booking), follow=True)
    assert refresh(booking).status == BookingStatus.CANCELLED
    assert not booking.events.exists()
    assert mail.outbox == []
    assert any("cannot be marked confirmed" in m for m in msgs(response))


def test_get_on_an_action_url_changes_nothing(desk, desk_clinic):
    booking = desk_clinic.booking(local(3, 10))
    response = desk.get(do(booking, "confirm"))
    assert response.status_code == 302
    assert refresh(booking).status == BookingStatus.REQUESTED


def test_telehealth_confirm_asks_for_the_video_link(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(3, 17), visit_type=VisitType.TELEHEALTH)
    # The button leads to the form; a POST to the plain action is redirected there too.
    response = desk.post(do(booking, "confirm"), seen(booking))
    confirm_url = reverse("admin:booking_booking_confirm", args=[booking.pk])
    assert response["Location"] == confirm_url
    page = desk.get(confirm_url)
    assert page.status_code == 200
    assert "Video link" in page.content.decode()
    # Missing link: refused with a clear message.
    response = desk.post(confirm_url, seen(booking, telehealth_url=""))
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert refresh(booking).status == BookingStatus.REQUESTED
    # With a link: confirmed, and the link is in the email and its calendar file.
    with worker_runs():
        response = desk.post(confirm_url, seen(booking, telehealth_url="https://video.example/room/42"))
    assert response.status_code == 302
    booking = refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.telehealth_url == "https://video.example/room/42"
    (message,) = mail.outbox
    assert "https://video.example/room/42" in message.body
    assert "https://video.example/room/42" in str(event_of(ics_of(message))["LOCATION"])


def test_telehealth_with_practitioner_room_confirms_directly(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(3, 17), practitioner=desk_clinic.sam, visit_type=VisitType.TELEHEALTH)
    with worker_runs():
        desk.post(do(booking, "confirm"), seen(booking))
    assert refresh(booking).status == BookingStatus.CONFIRMED
    assert "https://video.example/sam" in mail.outbox[0].body


def test_decline_needs_a_reason_and_emails_it(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(3, 10))
    url = reverse("admin:booking_booking_decline", args=[booking.pk])
    assert desk.get(url).status_code == 200
    response = desk.post(url, seen(booking, reason=""))
    assert response.status_code == 200
    assert "Please give a reason" in response.content.decode()
    assert refresh(booking).status == BookingStatus.REQUESTED
    with worker_runs():
        response = desk.post(url, seen(booking, reason="No physio times that week, please call us."))
    assert response.status_code == 302
    assert refresh(booking).status == BookingStatus.DECLINED
    assert booking.events.get().note == "No physio times that week, please call us."
    (message,) = mail.outbox
    assert "No physio times that week, please call us." in message.body
    assert not message.attachments


def test_cancel_a_confirmed_booking_sends_a_calendar_cancel(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(3, 10), status=BookingStatus.CONFIRMED, ics_sequence=1)
    with worker_runs():
        desk.post(do(booking, "cancel"), seen(booking))
    assert refresh(booking).status == BookingStatus.CANCELLED
    cal = ics_of(mail.outbox[0])
    assert str(cal["METHOD"]) == "CANCEL"
    vevent = event_of(cal)
    assert int(vevent["SEQUENCE"]) == 2
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert booking.events.get().user == desk_clinic.desk


def test_complete_and_no_show_only_after_the_start(desk, desk_clinic, worker_runs):
    future = desk_clinic.booking(local(3, 10), status=BookingStatus.CONFIRMED)
    past = desk_clinic.booking(local(-2, 10), status=BookingStatus.CONFIRMED)
    missed = desk_clinic.booking(local(-2, 12), status=BookingStatus.CONFIRMED)
    response = desk.post(do(future, "complete"), seen(future), follow=True)
    assert refresh(future).status == BookingStatus.CONFIRMED
    assert any("has not started yet" in m for m in msgs(response))
    with worker_runs():
        desk.post(do(past, "complete"), seen(past))
        desk.post(do(missed, "no_show"), seen(missed))
    assert refresh(past).status == BookingStatus.COMPLETED
    assert refresh(missed).status == BookingStatus.NO_SHOW
    assert past.events.get().user == desk_clinic.desk
    assert mail.outbox == []  # no email for these


def test_reschedule_page_lists_free_times_and_moves(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(3, 10), status=BookingStatus.CONFIRMED, ics_sequence=1)
    other = desk_clinic.booking(local(3, 12))  # Pat is busy at 12:00
    url = reverse("admin:booking_booking_reschedule", args=[booking.pk])
    page = desk.get(url, {"date": local(3, 0).date().isoformat()}).content.decode()
    assert f'value="{encode_slot(local(3, 9))}"' in page and f'value="{encode_slot(local(3, 14))}"' in page
    assert encode_slot(local(3, 12)) not in page  # taken by another booking
    assert encode_slot(local(3, 10)) not in page  # its own current time
    new_start = local(3, 14)
    # Choosing a time only shows the old and new time; nothing moves or is emailed until confirmed.
    review = desk.post(url, seen(booking, slot=encode_slot(new_start), note="Patient asked by phone"))
    text = review.content.decode()
    assert review.status_code == 200 and "Old time" in text and "New time" in text
    assert "Eastern Time (Toronto)" in text and "Move and email the patient" in text
    assert refresh(booking).start == local(3, 10) and mail.outbox == []
    with worker_runs():
        response = desk.post(
            url, seen(booking, slot=encode_slot(new_start), note="Patient asked by phone", action="move")
        )
    assert response.status_code == 302
    booking = refresh(booking)
    assert booking.start == new_start
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.ics_sequence == 2
    event = booking.events.get()
    assert event.user == desk_clinic.desk and "Patient asked by phone" in event.note
    vevent = event_of(ics_of(mail.outbox[0]))
    assert int(vevent["SEQUENCE"]) == 2
    assert str(vevent["UID"]) == f"booking-{booking.reference}@127.0.0.1"
    assert vevent["DTSTART"].dt == new_start
    assert refresh(other).start == local(3, 12)


def test_reschedule_to_a_taken_time_says_so(desk, desk_clinic):
    booking = desk_clinic.booking(local(3, 10), status=BookingStatus.CONFIRMED)
    desk_clinic.booking(local(3, 12))
    url = reverse("admin:booking_booking_reschedule", args=[booking.pk])
    response = desk.post(url, seen(booking, slot=encode_slot(local(3, 12)), action="move"))
    assert response.status_code == 200
    assert "no longer free" in response.content.decode()
    assert refresh(booking).start == local(3, 10)
    assert not booking.events.exists()


def test_ics_uid_is_stable_and_sequence_grows_across_confirm_move_cancel(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(4, 9))
    with worker_runs():
        desk.post(do(booking, "confirm"), seen(booking))
        desk.post(
            reverse("admin:booking_booking_reschedule", args=[booking.pk]),
            seen(booking, slot=encode_slot(local(4, 11)), action="move"),
        )
        desk.post(do(booking, "cancel"), seen(booking))
    calendars = [ics_of(m) for m in mail.outbox]
    assert [str(c["METHOD"]) for c in calendars] == ["PUBLISH", "PUBLISH", "CANCEL"]
    events = [event_of(c) for c in calendars]
    assert len({str(e["UID"]) for e in events}) == 1
    assert [int(e["SEQUENCE"]) for e in events] == [1, 2, 3]


def test_admin_history_never_carries_the_patient_name(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(3, 10))
    change = reverse("admin:booking_booking_change", args=[booking.pk])
    with worker_runs():
        desk.post(do(booking, "confirm"), seen(booking))
        response = desk.post(
            change,
            {"staff_notes": f"Called {PATIENT_NAME} back", "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert refresh(booking).staff_notes == f"Called {PATIENT_NAME} back"
    entries = LogEntry.objects.filter(object_id=str(booking.pk))
    assert entries.count() == 2
    for entry in entries:
        assert entry.object_repr == booking.reference
        assert PATIENT_NAME not in entry.object_repr
        assert PATIENT_NAME not in entry.get_change_message()
        assert "Quixote" not in entry.change_message
    history = desk.get(reverse("admin:booking_booking_history", args=[booking.pk])).content.decode()
    assert PATIENT_NAME not in history


def test_opening_a_booking_is_logged(desk, desk_clinic):
    booking = desk_clinic.booking(local(3, 10))
    desk.get(reverse("admin:booking_booking_change", args=[booking.pk]))
    desk.get(reverse("admin:booking_booking_change", args=[booking.pk]))
    assert booking.accesses.filter(user=desk_clinic.desk).count() == 2


def test_history_inline_is_read_only(desk, desk_clinic, worker_runs):
    booking = desk_clinic.booking(local(3, 10))
    with worker_runs():
        desk.post(do(booking, "confirm"), seen(booking))
    page = desk.get(reverse("admin:booking_booking_change", args=[booking.pk])).content.decode()
    assert "events-0-note" not in page  # no editable history fields
    assert "events-TOTAL_FORMS" not in page or 'name="events-0-DELETE"' not in page
    assert "Requested" in page and "Confirmed" in page


# --- list actions -------------------------------------------------------------------------------


def run_action(client, action, bookings, **extra):
    # Each list row carries the version it shows (a hidden field next to its status).
    shown = {f"shown_version_{b.pk}": Booking.objects.get(pk=b.pk).version for b in bookings}
    data = {"action": action, "_selected_action": [b.pk for b in bookings], "index": 0, **shown, **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_bulk_confirm_reports_done_and_skipped(desk, desk_clinic, worker_runs):
    ok1 = desk_clinic.booking(local(3, 9))
    ok2 = desk_clinic.booking(local(3, 9), practitioner=desk_clinic.sam)
    cancelled = desk_clinic.booking(local(3, 11), status=BookingStatus.CANCELLED)
    tele = desk_clinic.booking(local(3, 17), visit_type=VisitType.TELEHEALTH)
    with worker_runs():
        response = run_action(desk, "confirm_selected", [ok1, ok2, cancelled, tele])
    assert refresh(ok1).status == refresh(ok2).status == BookingStatus.CONFIRMED
    assert refresh(cancelled).status == BookingStatus.CANCELLED
    assert refresh(tele).status == BookingStatus.REQUESTED
    assert len(mail.outbox) == 2
    text = " ".join(msgs(response))
    assert "Confirmed 2 bookings" in text
    assert f"Skipped {cancelled.reference}: A cancelled booking cannot be marked confirmed." in text
    assert tele.reference in text and "need a video link" in text
    assert reverse("admin:booking_booking_confirm", args=[tele.pk]) in response.content.decode()
    assert BookingEvent.objects.filter(user=desk_clinic.desk, to_status=BookingStatus.CONFIRMED).count() == 2


def test_bulk_decline_asks_for_a_reason_first(desk, desk_clinic, worker_runs):
    a = desk_clinic.booking(local(3, 9))
    b = desk_clinic.booking(local(3, 11))
    confirmed = desk_clinic.booking(local(3, 13), status=BookingStatus.CONFIRMED)
    response = run_action(desk, "decline_selected", [a, b, confirmed])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Reason, sent to the patient" in page and a.reference in page
    assert refresh(a).status == BookingStatus.REQUESTED
    # Empty reason: asked again.
    response = run_action(desk, "decline_selected", [a, b, confirmed], apply="1", reason="")
    assert "Please give a reason" in response.content.decode()
    assert refresh(a).status == BookingStatus.REQUESTED
    with worker_runs():
        response = run_action(desk, "decline_selected", [a, b, confirmed], apply="1", reason="Fully booked.")
    assert refresh(a).status == refresh(b).status == BookingStatus.DECLINED
    assert refresh(confirmed).status == BookingStatus.CONFIRMED
    assert len(mail.outbox) == 2 and all("Fully booked." in m.body for m in mail.outbox)
    text = " ".join(msgs(response))
    assert "Declined 2 requests" in text and f"Skipped {confirmed.reference}" in text


def test_bulk_cancel_complete_no_show(desk, desk_clinic, worker_runs):
    upcoming = desk_clinic.booking(local(3, 9), status=BookingStatus.CONFIRMED)
    past = desk_clinic.booking(local(-1, 9), status=BookingStatus.CONFIRMED)
    declined = desk_clinic.booking(local(3, 11), status=BookingStatus.DECLINED)
    response = run_action(desk, "complete_selected", [upcoming, past, declined])
    text = " ".join(msgs(response))
    assert refresh(past).status == BookingStatus.COMPLETED
    assert refresh(upcoming).status == BookingStatus.CONFIRMED
    assert "Marked 1 booking completed" in text
    assert f"Skipped {upcoming.reference}: This appointment has not started yet." in text
    assert f"Skipped {declined.reference}" in text
    with worker_runs():
        response = run_action(desk, "cancel_selected", [upcoming, past])
    assert refresh(upcoming).status == BookingStatus.CANCELLED
    assert refresh(past).status == BookingStatus.COMPLETED
    assert len(mail.outbox) == 1
    missed = desk_clinic.booking(local(-1, 12), status=BookingStatus.CONFIRMED)
    run_action(desk, "no_show_selected", [missed])
    assert refresh(missed).status == BookingStatus.NO_SHOW


def test_failed_email_never_blocks_the_action_and_can_be_retried(desk, desk_clinic, settings, worker_runs, deliver):
    booking = desk_clinic.booking(local(3, 10))
    settings.EMAIL_BACKEND = "tests.mail_backends.FailingBackend"
    with worker_runs():
        desk.post(do(booking, "confirm"), seen(booking))
    assert refresh(booking).status == BookingStatus.CONFIRMED
    email = OutboxEmail.objects.get(booking=booking, kind="confirmation")
    assert email.status == "failed" and "SMTPServerDisconnected" in email.last_error
    outbox_list = desk.get(reverse("admin:booking_outboxemail_changelist"), {"status__exact": "failed"})
    assert "SMTPServerDisconnected" in outbox_list.content.decode()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = desk.post(
        reverse("admin:booking_outboxemail_changelist"),
        {"action": "resend_failed_emails", "_selected_action": [email.pk], "index": 0},
        follow=True,
    )
    assert any("1 email will be sent again" in m for m in msgs(response))
    deliver()  # the worker picks it up
    email.refresh_from_db()
    assert email.status == "sent" and email.attempts == 1  # fresh attempts after staff asked for a retry
    assert len(mail.outbox) == 1


def test_stale_booking_object_is_rechecked(desk, desk_clinic):
    """Two staff act on the same booking: the second action sees the fresh state."""
    booking = desk_clinic.booking(local(3, 10))
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.DECLINED)
    response = desk.post(do(booking, "cancel"), seen(booking), follow=True)
    assert refresh(booking).status == BookingStatus.DECLINED
    assert any("cannot be marked cancelled" in m for m in msgs(response))


def test_outbox_names_kinds_in_plain_words_and_shows_each_email(desk, desk_clinic):
    from booking.models import OutboxEmail

    booking = desk_clinic.booking(local(3, 10))
    email = OutboxEmail.objects.create(
        kind="new_request", recipient="desk@clinic.example", booking=booking, subject="New", body="Line one\nLine two"
    )
    listing = desk.get(reverse("admin:booking_outboxemail_changelist")).content.decode()
    assert "New request (to front desk)" in listing
    assert ">new_request<" not in listing
    filtered = desk.get(reverse("admin:booking_outboxemail_changelist"), {"kind": "new_request"}).content.decode()
    assert "New request (to front desk)" in filtered
    page = desk.get(reverse("admin:booking_outboxemail_change", args=[email.pk])).content.decode()
    assert '<div class="outbox-body">Line one\nLine two</div>' in page


def test_staff_pages_showing_times_name_the_zone(desk, desk_clinic):
    booking = desk_clinic.booking(local(3, 10))
    pages = [
        reverse("admin:booking_booking_change", args=[booking.pk]),
        reverse("admin:booking_booking_changelist"),
        reverse("admin:booking_booking_schedule_week"),
        reverse("admin:booking_booking_schedule_day"),
        reverse("admin:booking_booking_reschedule", args=[booking.pk]),
    ]
    for url in pages:
        assert "Eastern Time (Toronto)" in desk.get(url).content.decode(), url
