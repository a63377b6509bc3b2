from django.db import migrations

PRIVACY_OFFICER = "Privacy officer"


def create_group(apps, schema_editor):
    """The people who read the audit trail; no one else is given it."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    app_config = apps.get_app_config("audit")
    app_config.models_module = True
    create_contenttypes(app_config, apps=apps, verbosity=0)
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=PRIVACY_OFFICER)
    group.permissions.add(Permission.objects.get(content_type__app_label="audit", codename="view_auditevent"))


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_in_postgresql"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
