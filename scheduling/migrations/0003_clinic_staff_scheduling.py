from django.db import migrations

from iop.permissions import grant_to_clinic_staff

STAFF_PERMISSIONS = [
    "scheduling.add_weeklyslot",
    "scheduling.change_weeklyslot",
    "scheduling.delete_weeklyslot",
    "scheduling.view_weeklyslot",
    "scheduling.change_session",
    "scheduling.view_session",
    "scheduling.add_closure",
    "scheduling.change_closure",
    "scheduling.view_closure",
]


def grant(apps, schema_editor):
    grant_to_clinic_staff(apps, STAFF_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0002_clinic_staff_group"),
        ("scheduling", "0002_reminder"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
