"""The client's calendar feed (iCalendar). Discreet by design: an entry says only that there is
an appointment at the clinic, when, and where — no group name, kind, objective, person or link."""

import uuid
from collections.abc import Iterable

from django.utils import timezone
from django.utils.crypto import salted_hmac
from icalendar import Calendar, Event

from scheduling.models import Session


def event_title(clinic_name: str) -> str:
    return f"Appointment — {clinic_name}"


def event_uid(session: Session) -> str:
    """The same for a session at every fetch (phones match events by it, so a new UID would show
    the appointment twice) and telling nothing: no host name, no count of the clinic's sessions.
    A keyed hash of the session's id, written as a UUID (RFC 7986 recommends UUIDs for UIDs)."""
    digest = salted_hmac("scheduling.calendar.event_uid", str(session.pk), algorithm="sha256").digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def client_calendar(sessions: Iterable[Session], *, clinic_name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", f"-//{clinic_name}//Appointments//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", clinic_name)
    now = timezone.now()
    for session in sessions:
        event = Event()
        event.add("uid", event_uid(session))
        event.add("dtstamp", now)
        event.add("last-modified", session.updated_at)
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        event.add("summary", event_title(clinic_name))
        event.add("location", session.where.outside(clinic=clinic_name))
        if session.is_cancelled:
            # Phones remove a cancelled event when its STATUS says so and its SEQUENCE moves on.
            event.add("status", "CANCELLED")
            event.add("sequence", 1)
        else:
            event.add("status", "CONFIRMED")
            event.add("sequence", 0)
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()
