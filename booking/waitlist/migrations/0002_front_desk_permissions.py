"""The front desk works the waitlist: sees, adds and changes entries, and sees the offers sent.

Permissions are created after all migrations on a fresh database, so they are created here first (as the
staff groups migration does). Re-running is harmless.
"""

from django.db import migrations

FRONT_DESK = {"waitlistentry": ["view", "add", "change"], "waitlistoffer": ["view"]}


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    using = schema_editor.connection.alias
    app_config = apps.get_app_config("waitlist")
    had_models = getattr(app_config, "models_module", None)
    app_config.models_module = True
    try:
        create_permissions(app_config, verbosity=0, interactive=False, using=using, apps=apps)
    finally:
        app_config.models_module = had_models
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.using(using).get_or_create(name="Front desk")
    perms = [
        Permission.objects.using(using).get(content_type__app_label="waitlist", codename=f"{action}_{model}")
        for model, actions in FRONT_DESK.items()
        for action in actions
    ]
    group.permissions.add(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("waitlist", "0001_initial"),
        ("booking", "0003_staff_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
