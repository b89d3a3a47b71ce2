"""Patient records: one per person, matched strictly online, merged by staff, found however typed, seen only by
those who treat them (every read recorded), anonymised after retention with the counts kept."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from booking import patients
from booking.models import (
    Booking,
    BookingEvent,
    BookingStatus,
    BulkAccess,
    Patient,
    PatientAccess,
    PatientMerge,
)
from booking.workflow import change_status
from tests.factories import PatientFactory, form_data, free_starts, local, make_booking, make_staff

pytestmark = pytest.mark.django_db
TORONTO = ZoneInfo("America/Toronto")


def page(pk):
    return reverse("admin:booking_patient_change", args=[pk])


# --- Online requests: strict match or a new, flagged record ----------------------------------------------


def _request(client, service, slot, **details):
    data = form_data(service, slot, **details)
    return client.post(reverse("booking:request"), data)


def test_online_request_attaches_only_on_a_strict_match(client, desk_clinic, settings):
    settings.BOOKING_MAX_OPEN_PER_EMAIL = 10
    service = desk_clinic.service
    known = PatientFactory(name="Alex Rivera", email="alex.rivera@example.com", phone="+14165550134")
    starts = free_starts(service)
    # Strict: the same person typed a little differently (case, spacing, +tag) -> the same record.
    first = _request(
        client,
        service,
        starts[0],
        name="  alex   RIVERA ",
        email="Alex.Rivera+clinic@example.com",
        phone="416.555.0134",
    )
    # Partial: same email, another phone -> a new record flagged as a possible duplicate.
    second = _request(
        client, service, starts[3], name="Alex Rivera", email="alex.rivera@example.com", phone="416 555 0199"
    )
    assert first.status_code == second.status_code == 302
    bookings = list(Booking.objects.order_by("start"))
    assert len(bookings) == 2
    assert bookings[0].patient_id == known.pk
    other = bookings[1].patient
    assert other.pk != known.pk and other.possible_duplicate_of_id == known.pk
    # The requester's pages are the same either way: both land on their booking's own page.
    assert first["Location"].startswith("/book/") and second["Location"].startswith("/book/")


def test_a_stranger_gets_a_new_unflagged_record(client, desk_clinic):
    PatientFactory(name="Alex Rivera", email="alex@example.com", phone="+14165550134")
    slot = free_starts(desk_clinic.service)[0]
    _request(client, desk_clinic.service, slot, name="Jo Bloggs", email="jo@example.com", phone="416 555 0177")
    booking = Booking.objects.get()
    assert booking.patient.name == "Jo Bloggs" and booking.patient.possible_duplicate_of is None


def test_may_not_book_online_keeps_an_instant_clinic_request_for_review(client, desk_clinic):
    from booking.models import BookingPolicy

    BookingPolicy.objects.create(confirm_instantly=True)
    PatientFactory(name="Alex Rivera", email="alex@example.com", phone="+14165550134", may_book_online=False)
    slot = free_starts(desk_clinic.service)[0]
    response = _request(
        client, desk_clinic.service, slot, name="Alex Rivera", email="alex@example.com", phone="416 555 0134"
    )
    assert response.status_code == 302
    assert Booking.objects.get().status == BookingStatus.REQUESTED


# --- The data migration ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migration_groups_existing_bookings_by_folded_email_and_name():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    def migrate(targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    try:
        old = migrate([("booking", "0009_patients")])
        service = old.get_model("booking", "Service").objects.create(name="Massage", slug="massage")
        person = old.get_model("clinic", "Practitioner").objects.create(name="Pat", slug="pat")
        rows = [
            ("Alex Rivera", "Alex.Rivera@gmail.com", "+14165550134"),
            ("alex  rivera", "alexrivera+x@googlemail.com", "+14165550134"),  # the same mailbox and name
            ("Sam Rivera", "alexrivera@gmail.com", "+14165550134"),  # family sharing the address and phone
            ("Jo Bloggs", "jo@example.com", "+14165550177"),
        ]
        start = timezone.now()
        for i, (name, email, phone) in enumerate(rows):
            old.get_model("booking", "Booking").objects.create(
                reference=f"AAA-00{i}",
                service=service,
                visit_type="in_clinic",
                practitioner=person,
                start=start + timedelta(hours=i),
                end=start + timedelta(hours=i, minutes=30),
                blocked_until=start + timedelta(hours=i, minutes=30),
                patient_name=name,
                email=email,
                phone=phone,
                contact_preference="email",
                patient_type="new",
                consent_at=start,
                privacy_version="1",
            )
        new = migrate([("booking", "0011_booking_patient_required")])
        Booking_ = new.get_model("booking", "Booking")
        Patient_ = new.get_model("booking", "Patient")
        assert Patient_.objects.count() == 3
        by_ref = {b.reference: b.patient_id for b in Booking_.objects.all()}
        assert by_ref["AAA-000"] == by_ref["AAA-001"]
        assert len({by_ref["AAA-000"], by_ref["AAA-002"], by_ref["AAA-003"]}) == 3
        sam = Patient_.objects.get(pk=by_ref["AAA-002"])
        alex = Patient_.objects.get(pk=by_ref["AAA-000"])
        # Sharing a phone with another record: flagged for staff to look at, never merged by itself.
        assert {sam.possible_duplicate_of_id, alex.possible_duplicate_of_id} - {None} <= {sam.pk, alex.pk}
        assert alex.search_text and alex.email_key == "alexrivera@gmail.com"
    finally:
        executor = MigrationExecutor(connection)
        migrate(executor.loader.graph.leaf_nodes())


# --- Search ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "rivera",
        "RIVERA alex",
        " Alex   Rivera ",
        "416-555-0134",
        "(416) 555 0134",
        "+1 416 555 0134",
        "416.555.0134",
        "5550134",
        "alex.rivera@EXAMPLE.com",
    ],
)
def test_search_finds_a_patient_typed_any_way(typed):
    alex = PatientFactory(name="Alex Rivera", email="alex.rivera@example.com", phone="+14165550134")
    PatientFactory(name="Jo Bloggs", email="jo@example.com", phone="+14165550177")
    assert list(patients.search(Patient.objects.all(), typed)) == [alex]


def test_search_by_phone_digits_finds_the_number_not_digits_in_an_email():
    alex = PatientFactory(name="Alex Rivera", email="alex0134@example.com", phone="+14165550199")
    jo = PatientFactory(name="Jo Bloggs", email="jo@example.com", phone="+14165550134")
    assert list(patients.search(Patient.objects.all(), "0134")) == [jo]
    assert list(patients.search(Patient.objects.all(), "(416) 555-0199")) == [alex]


def test_search_ignores_accents_and_order():
    elise = PatientFactory(name="Élise Côté", email="e@example.com", phone="+14165550100")
    assert list(patients.search(Patient.objects.all(), "cote elise")) == [elise]


def test_admin_search_and_list_are_logged(client, desk_clinic):
    PatientFactory(name="Alex Rivera", email="alex@example.com", phone="+14165550134")
    client.force_login(desk_clinic.desk)
    response = client.get(reverse("admin:booking_patient_changelist"), {"q": "416 555 0134"})
    assert response.status_code == 200 and b"Alex Rivera" in response.content
    assert BulkAccess.objects.filter(view=BulkAccess.View.PATIENT_LIST, rows=1).exists()


def test_patient_list_queries_do_not_grow_with_patients(client, desk_clinic, django_assert_max_num_queries):
    client.force_login(desk_clinic.desk)
    for i in range(3):
        desk_clinic.booking(local(2, 9 + i), patient_name=f"P{i}", email=f"p{i}@example.com")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("admin:booking_patient_changelist"))
    for i in range(3, 12):
        desk_clinic.booking(local(3 + i, 9), patient_name=f"P{i}", email=f"p{i}@example.com")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("admin:booking_patient_changelist"))
    assert len(few) == len(many)


# --- The patient's page and who may see it -----------------------------------------------------------------


def test_patient_page_shows_visits_counts_and_book_link(client, desk_clinic):
    alex = PatientFactory(name="Alex Rivera", email="alex@example.com")
    with time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=TORONTO), tick=False):
        past = [desk_clinic.booking(local(-d, 9), patient=alex, status=BookingStatus.CONFIRMED) for d in (10, 9, 8)]
        change_status(past[0], BookingStatus.COMPLETED, by="system")
        change_status(past[1], BookingStatus.NO_SHOW, by="system")
        soon = desk_clinic.booking(local(3, 10), patient=alex, status=BookingStatus.CONFIRMED)
        with time_machine.travel(soon.start - timedelta(hours=2), tick=False):
            change_status(soon, BookingStatus.CANCELLED, by="patient")  # inside the late-cancellation window
        coming = desk_clinic.booking(local(5, 11), patient=alex, status=BookingStatus.CONFIRMED)
        client.force_login(desk_clinic.desk)
        response = client.get(page(alex.pk))
    assert response.status_code == 200
    text = response.content.decode()
    counts = response.context["visit_counts"]
    assert counts == {"visits": 1, "no_shows": 1, "upcoming": 1, "late_cancellations": 1}
    assert coming.reference in text and past[2].reference in text
    assert f"booking/booking/add/?patient={alex.pk}" in text and "Book for this patient" in text
    assert PatientAccess.objects.filter(patient=alex, user=desk_clinic.desk).count() == 1


def test_practitioner_sees_only_own_patients(client, desk_clinic):
    pat_user = make_staff("pat", "Practitioner")
    desk_clinic.pat.user = pat_user
    desk_clinic.pat.save()
    mine = desk_clinic.booking(local(2, 9)).patient
    theirs = desk_clinic.booking(local(2, 9), practitioner=desk_clinic.sam).patient
    client.force_login(pat_user)
    assert client.get(page(mine.pk)).status_code == 200
    response = client.get(page(theirs.pk))
    assert response.status_code == 403
    assert not PatientAccess.objects.filter(patient=theirs).exists()
    assert PatientAccess.objects.filter(patient=mine, user=pat_user).count() == 1
    listing = client.get(reverse("admin:booking_patient_changelist"))
    assert listing.status_code == 200 and list(listing.context["cl"].result_list) == [mine]
    # A practitioner reads, never edits.
    assert client.post(page(mine.pk), {"name": "Changed"}).status_code == 403


def test_practitioner_counts_only_their_own_visits_with_the_patient(client, desk_clinic):
    pat_user = make_staff("pat", "Practitioner")
    desk_clinic.pat.user = pat_user
    desk_clinic.pat.save()
    alex = PatientFactory(name="Alex Rivera", email="alex@example.com")
    with time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=TORONTO), tick=False):
        mine = desk_clinic.booking(local(-10, 9), patient=alex, status=BookingStatus.CONFIRMED)
        change_status(mine, BookingStatus.COMPLETED, by="system")
        # Visits with another practitioner: a no-show, a late cancellation, a completed visit.
        others = [
            desk_clinic.booking(local(-d, 9), patient=alex, practitioner=desk_clinic.sam, status="confirmed")
            for d in (9, 8)
        ]
        change_status(others[0], BookingStatus.NO_SHOW, by="system")
        change_status(others[1], BookingStatus.COMPLETED, by="system")
        late = desk_clinic.booking(local(3, 10), patient=alex, practitioner=desk_clinic.sam, status="confirmed")
        with time_machine.travel(late.start - timedelta(hours=2), tick=False):
            change_status(late, BookingStatus.CANCELLED, by="patient")
        client.force_login(pat_user)
        response = client.get(page(alex.pk))
        client.force_login(desk_clinic.desk)
        desk_view = client.get(page(alex.pk))
    assert response.status_code == 200
    assert response.context["visit_counts"] == {"visits": 1, "no_shows": 0, "upcoming": 0, "late_cancellations": 0}
    text = response.content.decode()
    assert "Your visits with this patient only" in text
    assert mine.reference in text and not any(b.reference in text for b in [*others, late])
    # The front desk still sees the whole record.
    assert desk_view.context["visit_counts"] == {"visits": 2, "no_shows": 1, "upcoming": 0, "late_cancellations": 1}
    assert "Your visits with this patient only" not in desk_view.content.decode()


def test_editor_sees_no_patients(client, desk_clinic):
    editor = make_staff("ed", "Editor")
    patient = desk_clinic.booking(local(2, 9)).patient
    client.force_login(editor)
    assert client.get(page(patient.pk)).status_code == 403
    assert client.get(reverse("admin:booking_patient_changelist")).status_code == 403
    assert not PatientAccess.objects.exists()


def test_patient_page_edit_normalises_phone_and_keeps_values_out_of_history(client, desk_clinic):
    from django.contrib.admin.models import LogEntry

    alex = PatientFactory(name="Alex Rivera", email="alex@example.com")
    client.force_login(desk_clinic.desk)
    data = {
        "name": "Alex Rivera",
        "email": "Alex@Example.com",
        "phone": "(416) 555-0188",
        "contact_preference": "call",
        "may_book_online": "on",
        "notes": "Prefers mornings",
    }
    response = client.post(page(alex.pk), data)
    assert response.status_code == 302
    alex.refresh_from_db()
    assert alex.phone == "+14165550188" and alex.email == "alex@example.com"
    entry = LogEntry.objects.get(object_id=str(alex.pk))
    assert "0188" not in entry.get_change_message() and "Alex" not in entry.object_repr
    bad = client.post(page(alex.pk), {**data, "phone": "12"})
    assert bad.status_code == 200 and "valid phone number" in bad.content.decode()


def test_unknown_or_mangled_ids_are_not_errors(client, desk_clinic):
    client.force_login(desk_clinic.desk)
    assert client.get(page(999999)).status_code in (302, 404)
    assert client.get(reverse("admin:booking_patient_changelist") + "x/change/").status_code in (302, 404)


# --- Merge -----------------------------------------------------------------------------------------------


def test_merge_moves_every_booking_and_event_and_is_recorded(client, desk_clinic):
    keep = PatientFactory(name="Alex Rivera", email="alex@example.com", notes="Left knee")
    other = PatientFactory(name="Alex Rivera", email="alex.r@example.com", phone="", notes="Call after 5")
    for day in (2, 3):
        desk_clinic.booking(local(day, 9), patient=keep)
    moved = [desk_clinic.booking(local(day, 10), patient=other) for day in (2, 3, 4)]
    change_status(moved[0], BookingStatus.CONFIRMED, by="system")
    PatientAccess.objects.create(patient=other, user=desk_clinic.desk)
    events_before = BookingEvent.objects.count()
    other_events = BookingEvent.objects.filter(booking__patient=other).count()
    client.force_login(desk_clinic.desk)
    url = reverse("admin:booking_patient_changelist")
    ask = client.post(url, {"action": "merge_selected", "_selected_action": [keep.pk, other.pk]})
    assert ask.status_code == 200 and b"Merge the records" in ask.content
    done = client.post(
        url, {"action": "merge_selected", "_selected_action": [keep.pk, other.pk], "apply": "1", "keep": keep.pk}
    )
    assert done.status_code == 302
    assert not Patient.objects.filter(pk=other.pk).exists()
    assert Booking.objects.filter(patient=keep).count() == 5
    assert BookingEvent.objects.count() == events_before
    assert BookingEvent.objects.filter(booking__patient=keep).count() == events_before
    merge = PatientMerge.objects.get()
    assert (merge.kept_id, merge.merged_id, merge.bookings_moved, merge.events_moved) == (
        keep.pk,
        other.pk,
        3,
        other_events,
    )
    assert merge.user == desk_clinic.desk
    keep.refresh_from_db()
    assert "Left knee" in keep.notes and "Call after 5" in keep.notes
    assert PatientAccess.objects.filter(patient=keep).count() == 1


def test_merge_needs_exactly_two(client, desk_clinic):
    a, b, c = PatientFactory(), PatientFactory(), PatientFactory()
    client.force_login(desk_clinic.desk)
    response = client.post(
        reverse("admin:booking_patient_changelist"),
        {"action": "merge_selected", "_selected_action": [a.pk, b.pk, c.pk]},
    )
    assert response.status_code == 302
    assert "exactly two" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert Patient.objects.count() == 3


# --- Retention -------------------------------------------------------------------------------------------


def test_purge_anonymises_patients_past_retention_and_keeps_counts(desk_clinic):
    with time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=TORONTO), tick=False):
        old = PatientFactory(name="Old Patient", email="old@example.com", notes="notes")
        recent = PatientFactory(name="Recent Patient", email="recent@example.com")
        visit = desk_clinic.booking(timezone.now() - timedelta(days=900), patient=old, status=BookingStatus.COMPLETED)
        desk_clinic.booking(timezone.now() - timedelta(days=900), patient=recent, status=BookingStatus.COMPLETED)
        desk_clinic.booking(local(2, 9), patient=recent)
        call_command("purge_bookings", "--older-than", "24")
        old.refresh_from_db()
        recent.refresh_from_db()
        assert old.anonymised_at is not None and old.name == "Anonymised" and not old.email and not old.notes
        assert old.search_text == "" and not patients.search(Patient.objects.all(), "old patient").exists()
        assert recent.anonymised_at is None and recent.name == "Recent Patient"
        assert patients.visit_counts(old)["visits"] == 1 and Booking.objects.get(pk=visit.pk).patient_id == old.pk


def test_booking_made_at_the_request_form_copies_are_its_own(desk_clinic):
    booking = make_booking(desk_clinic.pat, desk_clinic.service, local(2, 9), location=desk_clinic.location)
    assert booking.patient.name == booking.patient_name
