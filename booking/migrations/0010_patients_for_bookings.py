"""Give every existing booking its patient, grouped by folded email and folded name (the same folding as
the open-request cap and the online strict match), and let staff groups see patients.

On PostgreSQL also a trigram index on the patients' search text, so "typed any way" search (any part of a
name, email or phone digits) is answered from the index however many patients there are.
"""

import importlib
import unicodedata

from django.db import migrations

# Copies of booking.emailkeys.normalise_email and booking.models.fold_name as they were when this was written.
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def normalise_email(address):
    local, _at, domain = str(address).strip().lower().rpartition("@")
    if not local:
        return str(address).strip().lower()
    local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        domain = DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def fold_name(name):
    decomposed = unicodedata.normalize("NFKD", str(name))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def digits(phone):
    return "".join(ch for ch in str(phone or "") if ch.isdigit())


def patient_fields(booking):
    name_key = fold_name(booking.patient_name)[:120]
    phone_digits = digits(booking.phone)
    return {
        "name": booking.patient_name,
        "email": booking.email,
        "phone": booking.phone,
        "contact_preference": booking.contact_preference,
        "email_key": normalise_email(booking.email) if booking.email else "",
        "name_key": name_key,
        "phone_digits": phone_digits,
        "search_text": " ".join(filter(None, [name_key, booking.email.lower(), phone_digits])),
    }


def give_bookings_patients(apps, schema_editor):
    Booking = apps.get_model("booking", "Booking")
    Patient = apps.get_model("booking", "Patient")
    # Newest first: a patient record takes the details of the person's latest booking.
    bookings = Booking.objects.filter(patient__isnull=True).order_by("-created", "-pk")
    patients = {}
    by_phone = {}
    for booking in bookings.iterator(chunk_size=2000):
        if booking.anonymised_at is not None:
            key = ("anonymised", booking.pk)  # nothing left to group by: one record each, anonymised too
        else:
            key = (normalise_email(booking.email), fold_name(booking.patient_name))
        patient = patients.get(key)
        if patient is None:
            patient = Patient.objects.create(anonymised_at=booking.anonymised_at, **patient_fields(booking))
            patients[key] = patient
            if patient.phone_digits and booking.anonymised_at is None:
                other = by_phone.setdefault(patient.phone_digits, patient)
                if other.pk != patient.pk:
                    # Same phone, another email or name: staff decide whether it is one person.
                    Patient.objects.filter(pk=patient.pk).update(possible_duplicate_of=other)
        Booking.objects.filter(pk=booking.pk).update(patient=patient)


PATIENT_PERMISSIONS = {
    "Front desk": ["view", "add", "change"],
    "Practitioner": ["view"],
}


def grant_patient_permissions(apps, schema_editor):
    using = schema_editor.connection.alias
    groups = importlib.import_module("booking.migrations.0003_staff_groups")
    groups.create_all_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, actions in PATIENT_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        codenames = [f"{action}_patient" for action in actions]
        group.permissions.add(
            *Permission.objects.using(using).filter(content_type__app_label="booking", codename__in=codenames)
        )
    desk = Group.objects.using(using).get(name="Front desk")
    desk.permissions.add(
        *Permission.objects.using(using).filter(
            content_type__app_label="booking", codename__in=["add_booking", "view_patientmerge"]
        )
    )


SEARCH_INDEX = "booking_patient_search_trgm"


def add_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX {SEARCH_INDEX} ON booking_patient USING gin (search_text gin_trgm_ops)")


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("booking", "0009_patients")]

    # The index first: PostgreSQL refuses CREATE INDEX on a table with pending (deferred) foreign-key checks,
    # which the patients written below would leave until the end of this migration's transaction.
    operations = [
        migrations.RunPython(add_search_index, drop_search_index),
        migrations.RunPython(grant_patient_permissions, migrations.RunPython.noop),
        migrations.RunPython(give_bookings_patients, migrations.RunPython.noop),
    ]
