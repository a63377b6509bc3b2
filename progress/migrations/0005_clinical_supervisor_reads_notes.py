from django.db import migrations

from iop.permissions import CLINICAL_SUPERVISOR, grant_to_group

# Supervisors see what staff see of attendance and notes, and the notes' text.
SUPERVISOR_PERMISSIONS = [
    "progress.view_attendance",
    "progress.view_groupnote",
    "progress.view_individualnote",
    "progress.view_addendum",
    "progress.read_note_text",
]


def grant(apps, schema_editor):
    grant_to_group(apps, CLINICAL_SUPERVISOR, SUPERVISOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("progress", "0004_sessions_met_before_first_recorded_at"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="groupnote",
            options={
                "ordering": ["-session__starts_at"],
                "permissions": [("read_note_text", "Can read the text of progress notes and observations")],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
