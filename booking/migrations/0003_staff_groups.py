"""Staff groups with the permissions each role needs: Front desk, Practitioner, Editor.

Django creates permissions after all migrations (post_migrate), so on a fresh database they do not
exist yet when this runs: create them first, for every app, from the migration state.
Re-running is harmless (get_or_create, permissions are only added).
"""

from django.db import migrations

GROUPS = {
    "Front desk": {
        "booking.booking": ["view", "change", "export"],
        "booking.bookingevent": ["view"],
        "booking.service": ["view", "change"],
        "booking.closure": ["view", "change"],
        "booking.timeoff": ["view", "change"],
        "booking.workinghours": ["view", "change"],
        "booking.outboxemail": ["view"],
        "clinic.clinicprofile": ["view"],
        "clinic.location": ["view"],
        "clinic.openinghours": ["view"],
        "clinic.practitioner": ["view"],
    },
    "Practitioner": {
        "booking.booking": ["view"],
        "booking.bookingevent": ["view"],
        "booking.workinghours": ["view", "add", "change", "delete"],
        "booking.timeoff": ["view", "add", "change", "delete"],
    },
    # Editor: every model of the articles app (filled in below), and nothing from booking.
    "Editor": {},
}
EDITOR_ACTIONS = ["view", "add", "change"]
# Rows edited inline on an article or treatment page: an editor may also remove them.
EDITOR_INLINE_MODELS = {"articlefaq", "articlereference", "treatmentfaq"}


def create_all_permissions(apps, using):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = True
        try:
            create_permissions(app_config, verbosity=0, interactive=False, using=using, apps=apps)
        finally:
            app_config.models_module = had_models


def codename(action, model):
    # Custom permissions are named "<action>_<model>" too (booking.export_booking).
    return f"{action}_{model}"


def forwards(apps, schema_editor):
    using = schema_editor.connection.alias
    create_all_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    wanted = {name: dict(models) for name, models in GROUPS.items()}
    for model in apps.get_app_config("articles").get_models():
        name = model._meta.model_name
        actions = EDITOR_ACTIONS + (["delete"] if name in EDITOR_INLINE_MODELS else [])
        wanted["Editor"][f"articles.{name}"] = actions

    for name, models in wanted.items():
        group, _created = Group.objects.using(using).get_or_create(name=name)
        perms = []
        for label, actions in models.items():
            app_label, model = label.split(".")
            for action in actions:
                perms.append(
                    Permission.objects.using(using).get(
                        content_type__app_label=app_label, codename=codename(action, model)
                    )
                )
        group.permissions.add(*perms)


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("clinic", "0001_initial"),
        ("articles", "0001_initial"),
        ("booking", "0002_no_overlap_constraint"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
