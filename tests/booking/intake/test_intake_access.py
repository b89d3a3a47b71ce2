"""Who sees health information: the treating practitioner and the privacy officer read (each read recorded);
the front desk sees "complete" and flags only; everyone else gets the same 404, and a refusal writes nothing.
And the answers reach no email, CSV export, log line, admin history or cache."""

import logging
import socket

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core import mail
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.intake.access import record_flags_read, summaries_for
from booking.intake.models import HealthRecordAccess
from booking.notifications import outbox
from tests.booking.intake.conftest import MARKERS, answers, confirm, open_form

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["desk", "editor", "sam_user", "anonymous", "superuser"])
def test_everyone_outside_the_circle_of_care_gets_404_and_no_access_row(intake_clinic, submitted, who):
    if who == "anonymous":
        user = None
    elif who == "superuser":  # an operator account outside the circle of care
        user = User.objects.create_superuser("root", "root@clinic.example", "a-long-test-password")
    else:
        user = getattr(intake_clinic, who)
    response = signed_in(user).get(submitted.staff_url())
    assert response.status_code == 404
    assert MARKERS["reason"] not in response.content.decode()
    assert not HealthRecordAccess.objects.filter(what=HealthRecordAccess.What.ANSWERS).exists()


@pytest.mark.parametrize("who", ["pat_user", "officer"])
def test_the_treating_practitioner_and_the_privacy_officer_read_it_and_each_read_is_recorded(
    intake_clinic, submitted, who
):
    user = getattr(intake_clinic, who)
    client = signed_in(user)
    for expected in (1, 2):
        response = client.get(submitted.staff_url())
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
        reads = HealthRecordAccess.objects.filter(what=HealthRecordAccess.What.ANSWERS)
        assert reads.count() == expected
    row = reads.first()
    assert row.user == user and row.form == submitted and row.record.number == 1


def test_the_practitioner_page_puts_the_flags_first(intake_clinic, submitted):
    page = signed_in(intake_clinic.pat_user).get(submitted.staff_url()).content.decode()
    flags_at = page.index("screening: anticoagulants")
    assert "screening: fainting or seizures" in page
    assert flags_at < page.index(MARKERS["reason"]) and flags_at < page.index(MARKERS["medications"])


def test_the_front_desk_sees_complete_and_the_flag_but_no_answer(intake_clinic, submitted):
    html = Template("{% load intake %}{% intake_badge booking %}").render(Context({"booking": intake_clinic.booking}))
    assert "Form: Complete" in html and "screening: anticoagulants" in html
    for marker in MARKERS.values():
        assert marker not in html
    # The admin list of forms: status only, for the desk (no "Read" link, no answers).
    page = signed_in(intake_clinic.desk).get(reverse("admin:intake_intakeform_changelist")).content.decode()
    assert intake_clinic.booking.reference in page and "Read (recorded)" not in page
    assert all(marker not in page for marker in MARKERS.values())
    page = signed_in(intake_clinic.pat_user).get(reverse("admin:intake_intakeform_changelist")).content.decode()
    assert "Read (recorded)" in page


def test_flags_for_a_calendar_come_in_constant_queries_and_are_logged_as_one_bulk_read(
    intake_clinic, submitted, django_assert_num_queries
):
    bookings = [intake_clinic.booking, intake_clinic.other]
    with django_assert_num_queries(2):
        summaries = summaries_for(bookings)
    assert summaries[intake_clinic.booking.pk][2] == ["anticoagulants", "fainting"]
    record_flags_read(intake_clinic.desk, len(summaries))
    row = HealthRecordAccess.objects.get(what=HealthRecordAccess.What.FLAGS)
    assert row.user == intake_clinic.desk and row.rows == 1


def test_admin_cannot_edit_or_show_answers_and_writes_no_history(intake_clinic, submitted):
    officer = signed_in(intake_clinic.officer)
    change = officer.get(reverse("admin:intake_intakeform_change", args=[submitted.pk]))
    assert change.status_code == 200 and all(m not in change.content.decode() for m in MARKERS.values())
    assert officer.post(reverse("admin:intake_intakeform_change", args=[submitted.pk]), {}).status_code == 403
    assert LogEntry.objects.count() == 0
    # No admin page for the records themselves.
    assert officer.get("/admin/intake/intakerecord/").status_code == 404


def test_the_access_log_is_for_the_privacy_officer_only(intake_clinic, submitted):
    url = reverse("admin:intake_healthrecordaccess_changelist")
    assert signed_in(intake_clinic.officer).get(url).status_code == 200
    assert signed_in(intake_clinic.desk).get(url).status_code == 403
    assert signed_in(intake_clinic.pat_user).get(url).status_code == 403


def test_a_whole_visit_leaks_no_answer_to_email_export_or_log(intake_clinic, caplog):
    from django.db import connection

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    # Every SQL statement and its parameters logged, as with DEBUG on: the answers travel only encrypted.
    connection.force_debug_cursor = True
    try:
        _whole_visit(intake_clinic, caplog)
    finally:
        connection.force_debug_cursor = False


def _whole_visit(intake_clinic, caplog):
    form = confirm(intake_clinic)
    client = open_form(form)
    client.post(reverse("intake:fill", kwargs={"token": form.token()}), answers())
    client.get(reverse("intake:copy", kwargs={"token": form.token()}))
    signed_in(intake_clinic.pat_user).get(form.staff_url())
    signed_in(intake_clinic.officer).get(form.staff_url())
    desk = signed_in(intake_clinic.desk)
    export = desk.get(reverse("admin:booking_booking_export"))
    csv_text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert intake_clinic.booking.reference in csv_text
    desk.get(reverse("admin:booking_booking_change", args=[intake_clinic.booking.pk]))
    day = timezone.localdate(intake_clinic.booking.start)
    schedule = desk.get(reverse("admin:booking_booking_schedule_day") + f"?date={day}").content.decode()
    assert "screening: anticoagulants" in schedule and "Form: Complete" in schedule  # the calendar block's flag
    assert all(marker not in schedule for marker in MARKERS.values())
    assert HealthRecordAccess.objects.filter(what=HealthRecordAccess.What.FLAGS, user=intake_clinic.desk).count() == 1
    outbox.drain()
    assert mail.outbox
    sent = "\n".join(f"{m.subject}\n{m.body}\n{m.attachments}" for m in mail.outbox)
    logged = "\n".join(f"{r.getMessage()} {r.args} {r.exc_text}" for r in caplog.records)
    assert "intake_intakerecord" in logged  # the SQL log was on: the record's INSERT is there, encrypted
    for marker in MARKERS.values():
        assert marker not in sent
        assert marker not in csv_text
        assert marker not in logged

    # The form link's token is redacted from log lines and the access log like the booking link's.
    from clinic.log_redaction import redact

    path = reverse("intake:fill", kwargs={"token": form.token()})
    assert form.token() not in redact(f'"GET {path} HTTP/1.1" 200') and "[token]" in redact(path)


def test_the_form_email_through_a_real_smtp_server_carries_no_health_detail(intake_clinic, settings):
    from aiosmtpd.controller import Controller

    from tests.mail_backends import local_smtp_settings

    class Sink:
        received = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
            self.received.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with local_smtp_settings(port):
            form = confirm(intake_clinic)
            open_form(form).post(reverse("intake:fill", kwargs={"token": form.token()}), answers())
            outbox.drain()
    finally:
        controller.stop()
    received = "\n".join(sink.received)
    assert "form is ready" in received
    for marker in MARKERS.values():
        assert marker not in received
