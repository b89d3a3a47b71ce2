"""No two active bookings of one practitioner may overlap: enforced by PostgreSQL itself.

An exclusion constraint over (practitioner, [start, blocked_until)) for requested and confirmed
bookings makes a double booking impossible whatever the application code does. SQLite has no such
constraint; there the booking code checks inside an IMMEDIATE write transaction instead.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE booking_booking ADD CONSTRAINT booking_no_overlap
    EXCLUDE USING gist (practitioner_id WITH =, tstzrange(start, blocked_until, '[)') WITH &&)
    WHERE (status IN ('requested', 'confirmed'));
"""
DROP = "ALTER TABLE booking_booking DROP CONSTRAINT IF EXISTS booking_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
