"""The dashboard's session cards, drawn in one pass. A therapist who leads sixteen groups has some
twenty-five on a weekday's dashboard and sixty on the whole week's; through an included template
each card was about a thousand lookups, filters and tags (three dates, each formatted anew), the
largest part of drawing the page. Each card reads what ``selectors.dashboard_week`` worked out."""

import datetime

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from iop.links import urls_of
from scheduling.models import Session

register = template.Library()


@register.simple_tag
def session_cards(sessions: list[Session], *, show_date: bool = False) -> SafeString:
    """Each session a link to its page: when, the group, the topic, where, how many members, the
    substitute if the group's facilitator is not leading it, and what is left to do."""
    now = timezone.now()
    written = _Written(session_url=urls_of("therapist:session"))
    return mark_safe("\n".join(_card(session, now=now, show_date=show_date, written=written) for session in sessions))


class _Written:
    """Each day and time of day written once: a week's sessions share a few of each. The URL of
    a session's page is reversed once too (``iop.links``)."""

    def __init__(self, *, session_url):
        self.session_url = session_url
        self.days: dict[datetime.date, str] = {}
        self.times: dict[datetime.time, str] = {}

    def day(self, moment: datetime.datetime) -> str:
        day = moment.date()
        if day not in self.days:
            self.days[day] = formats.date_format(day, "D M j")
        return self.days[day]

    def time(self, moment: datetime.datetime) -> str:
        time_of_day = moment.time()
        if time_of_day not in self.times:
            self.times[time_of_day] = formats.time_format(time_of_day, "g:i A")
        return self.times[time_of_day]


def _card(session: Session, *, now: datetime.datetime, show_date: bool, written: _Written) -> SafeString:
    starts_at, ends_at = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    start = f"{written.day(starts_at)}, {written.time(starts_at)}" if show_date else written.time(starts_at)
    members = f"{session.roster_size} member{'' if session.roster_size == 1 else 's'}"
    substitute = (
        format_html(" · substitute: {}", session.facilitator)
        if session.facilitator_id != session.group.facilitator_id
        else ""
    )
    return format_html(
        '<a href="{}" class="list-group-item list-group-item-action py-3{}" data-session="{}">'
        '<div class="d-flex flex-wrap justify-content-between gap-2"><div>'
        '<div class="fw-semibold">{}–{} · {}</div>'
        '<div class="small">{}</div>'
        '<div class="small text-body-secondary">{} · {}{}</div>'
        '</div><div class="d-flex flex-wrap align-content-start gap-1">{}</div></div></a>',
        written.session_url(session.pk),
        " text-body-secondary" if session.is_cancelled else "",
        session.pk,
        start,
        written.time(ends_at),
        session.group.name,
        session.objective,
        session.room or "Video",
        members,
        substitute,
        format_html_join("", '<span class="badge text-bg-{}"{}>{}</span>', _badges(session, now=now)),
    )


def _badges(session: Session, *, now: datetime.datetime):
    """(colour, attributes, words) of each badge: what the session is and what is left to do."""
    if session.is_cancelled:
        yield "secondary", "", "Cancelled"
        return
    if session.status == Session.Status.HELD:
        yield "success", "", "Held"
    if session.state_at(now) == Session.State.NOT_DOCUMENTED:
        yield "danger", mark_safe(' data-state="not_documented"'), "Not documented"
    if session.attendance_due:
        yield "warning", "", "Attendance to take"
    if session.note_signed:
        yield "success", "", "Note signed"
    elif session.note_started:
        yield "warning", "", "Note to sign"
    elif session.attendance_count:
        yield "warning", "", "Note to write"
