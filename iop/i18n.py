"""The language a client is spoken to in, and the date and time formats of each language.

Clients read the portal, their reminders, their calendar entries and their password mails in
their preferred language (``Client.preferred_language``) where the clinic has a translation
(``settings.LANGUAGES``); any other language falls back to English. Staff and therapists always
read the clinic's language (``settings.LANGUAGE_CODE``). The browser's Accept-Language and
cookies play no part: the client's record decides, and the client changes it in the portal.
"""

import datetime
import functools
from collections.abc import Callable

from django.conf import settings
from django.utils import formats, timezone, translation

# Formats Django's locales do not name, by language (English is the clinic's; Django's own
# formats are used for the rest, e.g. DATE_FORMAT).
FORMATS = {
    "en": {
        "day": "l, M j",  # Monday, Nov 30
        "long_day": "l, F j",  # Monday, November 30
        "short_day": "M j",  # Nov 30
        "short_date": "M j, Y",  # Nov 30, 2026
        "time": "g:i A",  # 6:00 PM
        "chart_day": "M j",  # Nov 30, under a chart's bar
    },
    "es": {
        "day": r"l j \d\e F",  # lunes 30 de noviembre
        "long_day": r"l j \d\e F",
        "short_day": r"j \d\e F",  # 30 de noviembre
        "short_date": r"j \d\e F \d\e Y",  # 30 de noviembre de 2026
        "time": "H:i",  # 18:00
        "chart_day": "j M",  # 30 nov
    },
}


def supported_language(code: str | None) -> str:
    """``code`` if the clinic has a translation for it, else the clinic's language (a client who
    asked for Vietnamese reads English until a Vietnamese translation exists)."""
    if code:
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            pass
    return translation.get_supported_language_variant(settings.LANGUAGE_CODE)


def language_of(user) -> str:
    """The language to speak to ``user`` in: a client's preferred one, everyone else the clinic's."""
    client = getattr(user, "client", None) if user is not None and user.is_authenticated else None
    return supported_language(client.preferred_language if client is not None else None)


def local_format(name: str) -> str:
    """A named format (``FORMATS``) in the active language."""
    language = supported_language(translation.get_language())
    return FORMATS.get(language, FORMATS["en"])[name]


def local_date(value, name: str) -> str:
    """``value`` written with the named format in the active language (Django's month and day names)."""
    if value in (None, ""):
        return ""
    return formats.date_format(_local(value), local_format(name))


def local_time(value) -> str:
    if value in (None, ""):
        return ""
    local = _local(value)
    time_of_day = local.time() if isinstance(local, datetime.datetime) else local
    return _time_in_words(time_of_day, translation.get_language())


@functools.lru_cache(maxsize=1024)
def _time_in_words(time_of_day: datetime.time, language: str | None) -> str:
    # A page of sessions writes the same few times again and again (a week's cards, a roster's
    # arrivals); the time formats name only the hour and the minute, so the day plays no part.
    # ``language`` is the active one, which ``local_format`` reads: it is part of the key.
    return formats.time_format(time_of_day, local_format("time"))


def formatted(value: datetime.date | datetime.time, format_string: str) -> str:
    """A day or a time of day written as the date filter writes it with ``format_string``, in the
    active language. The therapist's pages write the same few days and times on every request (a
    week's cards, the overdue notes, the lists of clients): each is worked out once for the process.
    Not for a date and time, whose wall clock depends on its zone: write its ``date()`` and
    ``time()`` in the clinic's zone."""
    return formatter()(value, format_string)


def formatter() -> Callable[[datetime.date | datetime.time, str], str]:
    """``formatted`` in the language active now, for writing many days and times at once (a week's
    sixty cards): the language is asked once."""
    language = translation.get_language()

    def write(value: datetime.date | datetime.time, format_string: str) -> str:
        if isinstance(value, datetime.datetime):
            raise TypeError("Write a date and time's day and time of day in the clinic's zone.")
        return _formatted(value, format_string, language)

    return write


@functools.lru_cache(maxsize=4096)
def _formatted(value: datetime.date | datetime.time, format_string: str, language: str | None) -> str:
    # ``language`` is the active one, whose day and month names Django writes: part of the key.
    if isinstance(value, datetime.time):
        return formats.time_format(value, format_string)
    return formats.date_format(value, format_string)


def _local(value):
    # The clinic's wall clock, as the template's date filter shows it.
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value
