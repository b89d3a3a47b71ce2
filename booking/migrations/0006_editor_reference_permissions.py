"""Editors edit the references of treatments and conditions as they do an article's: view, add, change,
delete (they are inline rows on the page). Created after the staff groups and the reference tables."""

import importlib

from django.db import migrations

MODELS = ["treatmentreference", "conditionreference"]
ACTIONS = ["view", "add", "change", "delete"]


def forwards(apps, schema_editor):
    using = schema_editor.connection.alias
    groups = importlib.import_module("booking.migrations.0003_staff_groups")
    groups.create_all_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editor, _created = Group.objects.using(using).get_or_create(name="Editor")
    codenames = [f"{action}_{model}" for model in MODELS for action in ACTIONS]
    editor.permissions.add(
        *Permission.objects.using(using).filter(content_type__app_label="articles", codename__in=codenames)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0005_bookingpolicy"),
        ("articles", "0003_trust_block"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
