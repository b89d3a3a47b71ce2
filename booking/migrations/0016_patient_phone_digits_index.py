"""A trigram index on the phone's digits alone (PostgreSQL), for searching a patient by any run of their number.

Digit strings are poor trigrams in the mixed name/email/phone search text (every record's email and bench names
hold digits too), so a term like "0012345" is answered from this narrow column instead.
"""

from django.db import migrations

PHONE_INDEX = "booking_patient_phone_digits_trgm"


def add_phone_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX {PHONE_INDEX} ON booking_patient USING gin (phone_digits gin_trgm_ops)")


def drop_phone_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {PHONE_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("booking", "0015_courses")]

    operations = [migrations.RunPython(add_phone_index, drop_phone_index)]
