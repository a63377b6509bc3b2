from django.db import migrations

from iop.permissions import grant_to_clinic_staff

# Staff see attendance and notes in the admin; only therapists write them, through their pages.
STAFF_PERMISSIONS = [
    "progress.view_attendance",
    "progress.view_groupnote",
    "progress.view_individualnote",
    "progress.view_addendum",
]


def grant(apps, schema_editor):
    grant_to_clinic_staff(apps, STAFF_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("groups", "0002_clinic_staff_group"),
        ("progress", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
