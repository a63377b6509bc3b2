from django.db import migrations

from iop.permissions import grant_to_clinic_staff

STAFF_PERMISSIONS = [
    "auth.view_user",
    "clients.add_client",
    "clients.change_client",
    "clients.view_client",
    "clients.add_confidentialityagreement",
    "clients.change_confidentialityagreement",
    "clients.view_confidentialityagreement",
    "clients.add_agreementsignature",
    "clients.change_agreementsignature",
    "clients.view_agreementsignature",
    "groups.add_therapist",
    "groups.change_therapist",
    "groups.view_therapist",
    "groups.add_therapygroup",
    "groups.change_therapygroup",
    "groups.view_therapygroup",
    "groups.add_membership",
    "groups.change_membership",
    "groups.view_membership",
]


def grant(apps, schema_editor):
    grant_to_clinic_staff(apps, STAFF_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("clients", "0001_initial"),
        ("groups", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
