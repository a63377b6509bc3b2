from django.db import migrations

from iop.permissions import CLINICAL_SUPERVISOR, grant_to_clinic_staff, grant_to_group

# The reports pages (admin/reports/): the front desk and the supervisors run the clinic from them.
REPORT_PERMISSIONS = ["progress.view_reports"]


def grant(apps, schema_editor):
    grant_to_clinic_staff(apps, REPORT_PERMISSIONS)
    grant_to_group(apps, CLINICAL_SUPERVISOR, REPORT_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("groups", "0002_clinic_staff_group"),
        ("progress", "0010_discharge_summaries"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="attendance",
            options={
                "ordering": ["session__starts_at", "client__legal_last_name", "client__legal_first_name"],
                "permissions": [("view_reports", "Can view the clinic's reports")],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
