"""A group's language becomes a code from the clients' list, so a client and a group can be matched.

A name the list does not know becomes English and is kept, word for word, in the group's description.
"""

import importlib

from django.db import migrations, models
from django.db.models import Q

client_languages = importlib.import_module("clients.migrations.0006_language_codes")


def to_codes(apps, schema_editor):
    TherapyGroup = apps.get_model("groups", "TherapyGroup")
    for group in TherapyGroup.objects.exclude(language__in=client_languages.KNOWN).only("language", "description"):
        code = client_languages.code_of(group.language)
        if code is None:
            kept = f"Language on file: {group.language}."
            group.description = "\n".join(filter(None, [group.description, kept]))
        group.language = code or "en"
        group.save(update_fields=["language", "description"])


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0006_language_codes"),
        ("groups", "0007_membership_updated_at"),
    ]

    operations = [
        migrations.RunPython(to_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="therapygroup",
            name="language",
            field=models.CharField(
                choices=client_languages.CHOICES,
                default="en",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="therapygroup",
            constraint=models.CheckConstraint(
                condition=Q(language__in=client_languages.KNOWN),
                name="groups_therapygroup_language_known",
                violation_error_message="Choose a language from the list.",
            ),
        ),
    ]
