"""The client's calendar feed (iCalendar). Discreet by design: an entry says only that there is
an appointment at the clinic, when, and where — no group name, kind, objective, person or link."""

import datetime
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


def event_uid(session: Session) -> str:
    """The same for a session at every fetch (phones match events by it, so a new UID would show
    the appointment twice) and telling nothing: no host name, no count of the clinic's sessions.
    A keyed hash of the session's id, written as a UUID (RFC 7986 recommends UUIDs for UIDs)."""
    digest = salted_hmac("scheduling.calendar.event_uid", str(session.pk), algorithm="sha256").digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


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
    places: dict[str, str] = {}
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
        place = session.where.outside(clinic=clinic_name)
        if place not in places:
            places[place] = _line("LOCATION", _text(place))
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event_uid(session)}",
            f"DTSTAMP:{stamp}",
            f"LAST-MODIFIED:{_utc(session.updated_at)}",
            f"DTSTART:{_utc(session.starts_at)}",
            f"DTEND:{_utc(session.ends_at)}",
            summary,
            places[place],
            # Phones remove a cancelled event when its STATUS says so and its SEQUENCE moves on.
            "STATUS:CANCELLED" if session.is_cancelled else "STATUS:CONFIRMED",
            "SEQUENCE:1" if session.is_cancelled else "SEQUENCE:0",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
