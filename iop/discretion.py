"""The one list of words that never leave the clinic (DESIGN.md, "Discreet outside the clinic").

A reminder, a calendar entry or a sender's name is read on lock screens, shared calendars and
mail previews. Under 42 CFR Part 2 even saying that someone is a client of a substance-use
programme discloses their care, so the list covers the kind of care, the setting, diagnoses and
substances. Every check uses it: the system checks on the clinic's name and sender, the room
names staff may save, the last look at a rendered message, and the tests.

Clients read their reminders and calendars in their own language (iop/i18n.py), so the list
holds the Spanish words for the care too. Accents do not matter: a stem written without them
matches the word with or without them ("adiccion" finds adicción and adiccion, "recaida"
finds recaída).

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
    # Spanish: the kind of care and its setting (terapia, grupo de apoyo, salud mental — "mental"
    # above — tratamiento, recuperación, rehabilitación — "rehab" above —, consejería …)
    "terap",
    "grupo",
    "adicc",
    "adict",
    "tratamiento",
    "recupera",
    "consejer",
    "asesoramiento",
    "desintox",
    "sobriedad",
    "sobrio",
    "sobria",
    "conductual",
    "psiqui",
    "psic",
    "ambulatori",
    "internamiento",
    "hospitalizaci",
    "doce pasos",
    "doce-pasos",
    "anonimo",
    "anonima",
    "recaida",
    "abstinencia",
    # Spanish: substances
    "sustancia",
    "droga",
    "drogadic",
    "alcoholi",
    "opioide",
    "opiaceo",
    "heroina",
    "cocaina",
    "metanfetamina",
    "metadona",
    "fentanilo",
    "narcotico",
    "sobredosis",
    # Spanish: diagnoses
    "diagnostic",
    "depresi",
    "ansiedad",
    "ansios",
    "bipolar",
    "esquizo",
    "suicid",
    "trastorno",
    "trauma",
)
# Acronyms and short words: only whole, optionally plural (TEPT and TDAH are PTSD and ADHD in Spanish).
WHOLE_WORDS = (
    "iop",
    "php",
    "ptsd",
    "adhd",
    "cbt",
    "dbt",
    "lcsw",
    "lpc",
    "lmft",
    "ladc",
    "cadc",
    "sud",
    "aa",
    "na",
    "tept",
    "tdah",
)

# What the list says, for error messages and documentation.
WORDS_FOR_PEOPLE = (
    "addiction, rehab, recovery, therapy, group, counseling, detox, sober, behavioral, mental health, psychiatric, "
    "treatment, substance, alcohol, drug, opioid, diagnosis and the like; in Spanish too (terapia, grupo, adicción, "
    "salud mental, tratamiento, recuperación …)"
)

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# A vowel written without its accent stands for itself with one (and ü): the stems are written
# plain, the words in any way.
_ACCENTED = {"a": "aáàâ", "e": "eéèê", "i": "iíìî", "o": "oóòô", "u": "uúùûü", "n": "nñ"}


def _accent_free(stem: str) -> str:
    return "".join(f"[{_ACCENTED[char]}]" if char in _ACCENTED else re.escape(char) for char in stem)


_IN_TEXT = re.compile(
    r"\b(?:(?:" + "|".join(_accent_free(stem) for stem in dict.fromkeys(STEMS)) + r")\w*"
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
