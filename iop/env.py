"""Strict readers for the environment.

Settings read every variable through these helpers, so a malformed value stops start-up with
an ``ImproperlyConfigured`` that names the variable instead of surfacing later as odd behaviour.
"""

import os
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
# A telephone number as people write it: digits with the usual separators, an optional leading +
# and an optional extension ("(312) 555-0142", "+1 312 555 0142", "312.555.0142 ext. 4").
PHONE = re.compile(r"(?P<number>\+?[\d\s().-]+?)(?:\s*(?:ext\.?|x)\s*\d{1,6})?", re.IGNORECASE)


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: set[str]) -> str:
    raw = os.environ.get(name, default)
    parts = urlsplit(raw)
    if parts.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(f"{name}={raw!r} is not a URL with one of the schemes: {allowed}.")
    return raw


def env_phone(name: str, default: str = "") -> str:
    """A telephone number of 7 to 15 digits, or "" when unset. Letters (vanity numbers) are refused:
    they could spell anything on a client's lock screen."""
    raw = os.environ.get(name, default).strip()
    if not raw:
        return ""
    match = PHONE.fullmatch(raw)
    if match is None or not 7 <= sum(char.isdigit() for char in match["number"]) <= 15:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a telephone number; write 7 to 15 digits, e.g. (312) 555-0142 or +1 312 555 0142."
        )
    return raw


def env_time_zone(name: str, default: str) -> str:
    raw = os.environ.get(name, default)
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={raw!r} is not an IANA time zone name such as America/Chicago.") from None
    return raw


def env_int_list(name: str, default: list[int], *, minimum: int = 0) -> list[int]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        values = [int(item) for item in raw.split(",") if item.strip()]
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a comma-separated list of whole numbers.") from None
    if not values or min(values) < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} needs at least one number, each at least {minimum}.")
    return values
