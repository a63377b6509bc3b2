"""The one list of words that never leave the clinic (DESIGN.md, "Discreet outside the clinic").

A reminder, a calendar entry or a sender's name is read on lock screens, shared calendars and
mail previews. Under 42 CFR Part 2 even saying that someone is a client of a substance-use
programme discloses their care, so the list covers the kind of care, the setting, diagnoses and
substances. Every check uses it: the system checks on the clinic's name and sender, the room
names staff may save, the last look at a rendered message, and the tests.

Words are matched case-insensitively at the start of a word, so a stem covers its forms
("counsel" finds Counseling, counsellor; "detox" finds detoxification), while a word that merely
contains one does not ("Independence", "fundamental", "retreat", "opinion"). Acronyms match only
whole ("IOP", "IOPs", not "biopsy").
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

# Stems: a word starting with one of these is discreet-breaking.
STEMS = (
    # the kind of care and its setting
    "addict",
    "rehab",
    "recover",
    "therap",
    "group",
    "counsel",
    "detox",
    "sober",
    "sobriet",
    "behavio",
    "mental",
    "psych",
    "treatment",
    "outpatient",
    "inpatient",
    "twelve step",
    "twelve-step",
    "12 step",
    "12-step",
    "anonymous",
    "relapse",
    "withdrawal",
    "dependen",
    # substances
    "substance",
    "alcohol",
    "drug",
    "opioid",
    "opiate",
    "heroin",
    "cocaine",
    "methamphetamine",
    "methadone",
    "fentanyl",
    "narcotic",
    "suboxone",
    "buprenorphine",
    "naloxone",
    "narcan",
    "overdos",
    "abus",
    # diagnoses
    "diagnos",
    "depress",
    "anxi",
    "bipolar",
    "schizo",
    "suicid",
    "trauma",
    "disorder",
)
# Acronyms and short words: only whole, optionally plural.
WHOLE_WORDS = ("iop", "php", "ptsd", "adhd", "cbt", "dbt", "lcsw", "lpc", "lmft", "ladc", "cadc", "sud", "aa", "na")

# What the list says, for error messages and documentation.
WORDS_FOR_PEOPLE = (
    "addiction, rehab, recovery, therapy, group, counseling, detox, sober, behavioral, mental health, psychiatric, "
    "treatment, substance, alcohol, drug, opioid, diagnosis and the like"
)

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_IN_TEXT = re.compile(
    r"\b(?:(?:" + "|".join(re.escape(stem) for stem in STEMS) + r")\w*"
    r"|(?:" + "|".join(WHOLE_WORDS) + r")s?\b)",
    re.IGNORECASE,
)
# Addresses and host names run words together ("riversiderecovery.org"): there a stem counts
# anywhere. Short stems and most acronyms would match inside ordinary names ("sudbury",
# "cabus"), so only the unmistakable ones are looked for inside words.
ADDRESS_WORDS = (
    *(stem.replace(" ", "").replace("-", "") for stem in STEMS if len(stem) >= 5),
    "drug",
    "iop",
    "ptsd",
    "adhd",
    "lcsw",
    "lmft",
)
_IN_ADDRESS = re.compile("|".join(re.escape(word) for word in dict.fromkeys(ADDRESS_WORDS)), re.IGNORECASE)


def _normalised(text: str) -> str:
    # Full-width letters, ligatures and invisible characters must not slip a word past the list.
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).replace("_", " ")


def undiscreet_words(text: str) -> list[str]:
    """The listed words found in ``text``, as written there (empty when it is discreet)."""
    return _IN_TEXT.findall(_normalised(text))


def undiscreet_words_in_address(address: str) -> list[str]:
    """The listed words found in an email address or host name, where words run together."""
    return [match.lower() for match in _IN_ADDRESS.findall(_normalised(address).replace(" ", ""))]


def is_discreet(text: str) -> bool:
    return not undiscreet_words(text)


def validate_discreet(value: str) -> None:
    """The rule for a value that reaches clients' phones (a room name): none of the listed words."""
    found = undiscreet_words(value or "")
    if found:
        raise ValidationError(
            "“%(value)s” gives the kind of care away (%(words)s): room names are shown in clients' reminders "
            "and calendars. Use a neutral name, such as a number or a colour.",
            code="undiscreet",
            params={"value": value, "words": ", ".join(dict.fromkeys(found))},
        )
