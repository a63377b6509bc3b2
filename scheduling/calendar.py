"""The client's calendar feed (iCalendar). Discreet by design: an entry says only that there is
an appointment at the clinic, when, and where — no group name, kind, objective or person."""

from collections.abc import Iterable

from django.utils import timezone
from icalendar import Calendar, Event

from iop.privacy import indiscreet_words
from scheduling.models import Session

VIRTUAL_PLACE = "Online — the join link is in your portal"
AT_THE_CLINIC = "At the clinic"


def event_title(clinic_name: str) -> str:
    return f"Appointment — {clinic_name}"


def place(session: Session) -> str:
    """Where, in words safe on a lock screen: a room whose name gives the care away is not shown."""
    if not session.room:
        return VIRTUAL_PLACE
    return AT_THE_CLINIC if indiscreet_words(session.room) else session.room


def client_calendar(sessions: Iterable[Session], *, clinic_name: str, host: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", f"-//{clinic_name}//Appointments//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", clinic_name)
    now = timezone.now()
    for session in sessions:
        event = Event()
        event.add("uid", f"session-{session.pk}@{host}")
        event.add("dtstamp", now)
        event.add("last-modified", session.updated_at)
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        event.add("summary", event_title(clinic_name))
        event.add("location", place(session))
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
