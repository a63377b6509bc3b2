"""What never leaves the clinic in reminders and calendar entries (DESIGN.md, "Discreet outside
the clinic"): a diagnosis, the words below, a group's name, a person's name."""

import re

FORBIDDEN_WORDS = ("diagnosis", "addiction", "rehab", "recovery", "therapy", "group", "IOP")
_FORBIDDEN = re.compile(r"\b(diagnos\w*|addict\w*|rehab\w*|recover\w*|therap\w*|groups?|iop)\b", re.IGNORECASE)


def indiscreet_words(text: str) -> list[str]:
    """The forbidden words found in ``text``, as written there."""
    return _FORBIDDEN.findall(text)
