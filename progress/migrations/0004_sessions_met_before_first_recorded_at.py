from django.db import migrations
from django.db.models import Min, OuterRef, Subquery
from django.db.models.functions import Least


def record_the_meetings_already_met(apps, schema_editor):
    """Sessions with attendance or a note from before ``Session.first_recorded_at`` existed get
    the moment of their first record, so they stay history."""
    Session = apps.get_model("scheduling", "Session")
    Attendance = apps.get_model("progress", "Attendance")
    GroupNote = apps.get_model("progress", "GroupNote")
    first_attendance = (
        Attendance.objects.filter(session=OuterRef("pk")).values("session").annotate(at=Min("recorded_at")).values("at")
    )
    note_written = GroupNote.objects.filter(session=OuterRef("pk")).values("created_at")
    recorded = Session.objects.filter(first_recorded_at__isnull=True).exclude(status="cancelled")
    recorded.filter(attendances__isnull=False, group_note__isnull=False).distinct().update(
        first_recorded_at=Least(Subquery(first_attendance), Subquery(note_written))
    )
    recorded.filter(attendances__isnull=False).update(first_recorded_at=Subquery(first_attendance))
    recorded.filter(group_note__isnull=False).update(first_recorded_at=Subquery(note_written))


class Migration(migrations.Migration):
    dependencies = [
        ("progress", "0003_addendum_one_per_submission"),
        ("scheduling", "0009_session_first_recorded_at"),
    ]

    operations = [migrations.RunPython(record_the_meetings_already_met, migrations.RunPython.noop)]
