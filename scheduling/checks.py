from django.conf import settings
from django.core.checks import Error, Tags, register

from iop.privacy import indiscreet_words


@register(Tags.compatibility)
def clinic_short_name_is_discreet(app_configs, **kwargs):
    """The short name goes into every reminder and calendar entry a client's phone shows."""
    found = indiscreet_words(settings.CLINIC_SHORT_NAME)
    if not found:
        return []
    return [
        Error(
            f"CLINIC_SHORT_NAME={settings.CLINIC_SHORT_NAME!r} contains {', '.join(found)!s}; it appears in "
            "reminders and calendar entries, which must not reveal the kind of care.",
            hint="Use a neutral name, e.g. the clinic's street or neighbourhood.",
            id="scheduling.E001",
        )
    ]
