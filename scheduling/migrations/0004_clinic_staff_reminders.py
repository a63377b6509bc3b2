from django.db import migrations

from iop.permissions import grant_to_clinic_staff

# Staff watch the outbox and use its retry / cancel actions (which need "change").
STAFF_PERMISSIONS = ["scheduling.view_reminder", "scheduling.change_reminder"]


def grant(apps, schema_editor):
    grant_to_clinic_staff(apps, STAFF_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0003_clinic_staff_scheduling"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
