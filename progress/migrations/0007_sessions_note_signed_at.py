from django.db import migrations
from django.db.models import OuterRef, Subquery


def copy_the_signatures(apps, schema_editor):
    """Every session whose note was signed before ``Session.note_signed_at`` existed gets the
    moment of that signature."""
    Session = apps.get_model("scheduling", "Session")
    GroupNote = apps.get_model("progress", "GroupNote")
    signed_at = GroupNote.objects.filter(session=OuterRef("pk")).values("signed_at")
    Session.objects.filter(group_note__signed_at__isnull=False).update(note_signed_at=Subquery(signed_at))


class Migration(migrations.Migration):
    dependencies = [
        ("progress", "0006_indexes_for_admin_lists"),
        ("scheduling", "0013_session_note_signed_at"),
    ]

    operations = [migrations.RunPython(copy_the_signatures, migrations.RunPython.noop)]
