from email.utils import parseaddr

from django.conf import settings
from django.core.checks import Error, Tags, register

from iop.discretion import WORDS_FOR_PEOPLE, undiscreet_words, undiscreet_words_in_address

HINT = f"Use a neutral name, e.g. the clinic's street or neighbourhood; never {WORDS_FOR_PEOPLE}."


@register(Tags.compatibility)
def clinic_short_name_is_discreet(app_configs, **kwargs):
    """The short name goes into every reminder and calendar entry a client's phone shows."""
    found = undiscreet_words(settings.CLINIC_SHORT_NAME)
    if not found:
        return []
    return [
        Error(
            f"CLINIC_SHORT_NAME={settings.CLINIC_SHORT_NAME!r} contains {', '.join(found)!s}; it appears in "
            "reminders and calendar entries, which must not reveal the kind of care.",
            hint=HINT,
            id="scheduling.E001",
        )
    ]


@register(Tags.compatibility)
def sender_is_discreet(app_configs, **kwargs):
    """Reminder emails show the sender's name and address in every inbox and preview, and the
    address's domain names each message (its Message-ID)."""
    display_name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    found = [*undiscreet_words(display_name), *undiscreet_words_in_address(address or settings.DEFAULT_FROM_EMAIL)]
    if not found:
        return []
    return [
        Error(
            f"DEFAULT_FROM_EMAIL={settings.DEFAULT_FROM_EMAIL!r} contains {', '.join(found)!s}; reminder emails "
            "come from it, and their sender must not reveal the kind of care.",
            hint=HINT,
            id="scheduling.E002",
        )
    ]
