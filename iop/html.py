"""Escaping for markup drawn in Python rather than through a template (the therapist's session
cards, roster and headings, the client's week, the admin's drawn widgets): one helper, so every
such page escapes the same way and a reader checks one function."""

import html


def escaped(value) -> str:
    """What ``{{ value }}`` puts on a page: markup already marked safe (anything with
    ``__html__``) as it is, everything else as text, escaped. Django's ``conditional_escape``
    without its check for lazy strings, which costs more than the escaping when a page draws a
    few thousand values; a lazy translation is turned into text by ``str`` all the same."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))
