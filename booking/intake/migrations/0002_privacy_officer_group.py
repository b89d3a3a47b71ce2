"""The "Privacy officer" group, and who may see intake forms in admin.

Privacy officer: reads every health record and the access log. Practitioner: reads the records of patients they
treat (the rule in booking/intake/access.py). Front desk: sees each form's status only (and may unlock a form's
date-of-birth check). Re-running is harmless.
"""

import importlib

from django.db import migrations

GROUPS = {
    "Privacy officer": ["view_intakeform", "read_health_record", "view_healthrecordaccess"],
    "Practitioner": ["view_intakeform", "read_health_record"],
    "Front desk": ["view_intakeform"],
}


def forwards(apps, schema_editor):
    using = schema_editor.connection.alias
    importlib.import_module("booking.migrations.0003_staff_groups").create_all_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.using(using).filter(content_type__app_label="intake", codename__in=codenames)
        )


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name="Privacy officer").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0001_initial"),
        ("booking", "0008_outbox_rendered_by_worker"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
