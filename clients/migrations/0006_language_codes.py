"""A client's preferred language becomes a language code from a list, so the portal can speak it.

Languages typed before are turned into their code by their English or own name; a name the list does
not know becomes English and is kept, word for word, in the client's communication preferences, so
nothing staff wrote is lost.
"""

from django.db import migrations, models
from django.db.models import Q

CODES = {
    "english": "en",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "arabic": "ar",
    "chinese": "zh-hans",
    "mandarin": "zh-hans",
    "french": "fr",
    "haitian creole": "ht",
    "creole": "ht",
    "korean": "ko",
    "portuguese": "pt",
    "russian": "ru",
    "somali": "so",
    "tagalog": "tl",
    "filipino": "tl",
    "vietnamese": "vi",
    "american sign language": "ase",
    "asl": "ase",
}
# The list as this migration made it (clients.models.Language), written out so later edits of the model
# do not change what this migration did.
CHOICES = [
    ("en", "English"),
    ("es", "Spanish (Español)"),
    ("ar", "Arabic (العربية)"),
    ("zh-hans", "Chinese (中文)"),
    ("fr", "French (Français)"),
    ("ht", "Haitian Creole (Kreyòl ayisyen)"),
    ("ko", "Korean (한국어)"),
    ("pt", "Portuguese (Português)"),
    ("ru", "Russian (Русский)"),
    ("so", "Somali (Soomaali)"),
    ("tl", "Tagalog"),
    ("vi", "Vietnamese (Tiếng Việt)"),
    ("ase", "American Sign Language"),
]
KNOWN = [code for code, _ in CHOICES]


def code_of(name: str) -> str | None:
    """The code of a language written by name (or already as a code); None when the list lacks it."""
    name = name.strip()
    if name in KNOWN:
        return name
    return CODES.get(name.lower())


def to_codes(apps, schema_editor):
    Client = apps.get_model("clients", "Client")
    for client in Client.objects.exclude(preferred_language__in=KNOWN).only(
        "preferred_language", "communication_preferences"
    ):
        code = code_of(client.preferred_language)
        if code is None:
            kept = f"Preferred language on file: {client.preferred_language}."
            client.communication_preferences = "\n".join(filter(None, [client.communication_preferences, kept]))
        client.preferred_language = code or "en"
        client.save(update_fields=["preferred_language", "communication_preferences"])


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_index_for_signature_list"),
    ]

    operations = [
        migrations.RunPython(to_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="client",
            name="preferred_language",
            field=models.CharField(
                choices=CHOICES,
                default="en",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="client",
            constraint=models.CheckConstraint(
                condition=Q(preferred_language__in=KNOWN),
                name="clients_client_preferred_language_known",
                violation_error_message="Choose a language from the list.",
            ),
        ),
    ]
