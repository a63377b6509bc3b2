"""The client's calendar feed (iCalendar). Discreet by design: an entry says only that there is
an appointment at the clinic, when, and where — no group name, kind, objective, person or link."""

import datetime
import hmac
import uuid
from collections.abc import Iterable

from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from icalendar import vText
from icalendar.parser import Contentline

from scheduling.models import Session

# RFC 5545 3.1: a content line longer than this many octets is folded.
LINE_OCTETS = 75


def event_title(clinic_name: str) -> str:
    """In the active language: the feed is drawn in the client's (scheduling.views.feed)."""
    return gettext("Appointment — %(clinic)s") % {"clinic": clinic_name}


def uid_key() -> hmac.HMAC:
    """The keyed hash of the UIDs with nothing hashed yet. Deriving the key from the secret key
    costs more than hashing an id, so a feed derives it once and each entry hashes a copy."""
    return salted_hmac("scheduling.calendar.event_uid", b"", algorithm="sha256")


def event_uid(session: Session, *, key: hmac.HMAC | None = None) -> str:
    """The same for a session at every fetch (phones match events by it, so a new UID would show
    the appointment twice) and telling nothing: no host name, no count of the clinic's sessions.
    A keyed hash of the session's id, written as a UUID (RFC 7986 recommends UUIDs for UIDs).
    ``key`` is ``uid_key()``, when the caller writes many."""
    keyed = (key or uid_key()).copy()
    keyed.update(str(session.pk).encode())
    return str(uuid.UUID(bytes=keyed.digest()[:16], version=4))


def _line(name: str, value: str) -> str:
    line = f"{name}:{value}"
    # Nearly every line is short; icalendar folds the few long ones (a long place name).
    return Contentline(line).to_ical().decode() if len(line.encode()) > LINE_OCTETS else line


def _text(value: str) -> str:
    """A TEXT value, escaped by icalendar (backslash, semicolon, comma, new line)."""
    return vText(value).to_ical().decode()


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def client_calendar(sessions: Iterable[Session], *, clinic_name: str) -> bytes:
    """The feed, written line by line. icalendar's component objects cost over a millisecond an
    event, and a client in six groups has three hundred in the feed; icalendar still escapes the
    text and folds the long lines, and tests/scheduling/test_feed.py holds the result equal, once
    parsed, to what its components write."""
    stamp = _utc(timezone.now())
    summary = _line("SUMMARY", _text(event_title(clinic_name)))
    key = uid_key()
    # A client's meetings happen in a room or two: each place is put into words and escaped once.
    locations: dict[tuple[str, str], str] = {}
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        _line("PRODID", _text(f"-//{clinic_name}//Appointments//EN")),
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        # As icalendar writes a property it has no type for: unescaped.
        _line("X-WR-CALNAME", clinic_name),
    ]
    for session in sessions:
        where = (session.room, session.video_link)
        if where not in locations:
            locations[where] = _line("LOCATION", _text(session.where.outside(clinic=clinic_name)))
        cancelled = session.is_cancelled
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event_uid(session, key=key)}",
            f"DTSTAMP:{stamp}",
            f"LAST-MODIFIED:{_utc(session.updated_at)}",
            f"DTSTART:{_utc(session.starts_at)}",
            f"DTEND:{_utc(session.ends_at)}",
            summary,
            locations[where],
            # Phones remove a cancelled event when its STATUS says so and its SEQUENCE moves on.
            "STATUS:CANCELLED" if cancelled else "STATUS:CONFIRMED",
            "SEQUENCE:1" if cancelled else "SEQUENCE:0",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
