"""The dashboard's session cards, drawn in one pass. A therapist who leads sixteen groups has some
twenty-five on a weekday's dashboard and sixty on the whole week's; through an included template
each card was about a thousand lookups, filters and tags (three dates, each formatted anew), the
largest part of drawing the page. Each card reads what ``selectors.dashboard_week`` worked out."""

import datetime
from collections.abc import Callable
from typing import NamedTuple

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from iop.html import escaped
from iop.i18n import formatter
from iop.links import urls_of
from progress.selectors import DashboardGroup
from scheduling.models import Session

register = template.Library()


@register.simple_tag
def session_cards(sessions: list[Session], *, show_date: bool = False) -> SafeString:
    """Each session a link to its page: when, the group, the topic, where, how many members, the
    substitute if the group's facilitator is not leading it, and what is left to do."""
    drawing = _Drawing(now=timezone.now(), zone=timezone.get_current_timezone(), write=formatter())
    session_url = urls_of("therapist:session")
    # Every value a person wrote is escaped (``_card``).
    return mark_safe(
        "\n".join(_card(session, drawing, show_date=show_date, session_url=session_url) for session in sessions)
    )


class _Drawing(NamedTuple):
    """What every card of a list is drawn with, asked once for the list: the moment, the clinic's
    zone, and the days and times written in the active language."""

    now: datetime.datetime
    zone: datetime.tzinfo
    write: Callable[[datetime.date | datetime.time, str], str]


@register.simple_tag
def group_buttons(groups: list[DashboardGroup]) -> SafeString:
    """A button to each group's page (its participation balance), named by the group. Sixteen
    groups and their covers are some thirty buttons, each two lookups through the template."""
    group_url = urls_of("therapist:group")
    # Every value is escaped.
    return mark_safe(
        "".join(
            f'<a class="btn btn-sm btn-outline-primary" href="{group_url(group.pk)}">{escaped(group.name)}</a>'
            for group in groups
        )
    )


# What a list of the dashboard draws when it has no rows: the blank line its included template drew.
NOTHING_LISTED = mark_safe("\n")


def dashboard_list(*, testid: str, title: str, rows: str, more: str, note: str = "", tag: str = "div") -> SafeString:
    """One of the dashboard's lists of clients around its ``rows`` (already escaped): its heading,
    a sentence under it when given, and ``more`` (a sentence saying more are waiting, or "")."""
    under = f'  <p class="small text-body-secondary mb-2">{note}</p>\n' if note else ""
    return mark_safe(
        f'\n<section class="mb-4" data-testid="{testid}">\n  <h2 class="day-heading">{title}</h2>\n{under}'
        f'  <{tag} class="list-group">\n    {rows}\n  </{tag}>\n  {more}\n</section>\n\n'
    )


def _card(session: Session, drawing: _Drawing, *, show_date: bool, session_url: Callable[[int], str]) -> str:
    """One card's markup. What a person wrote (the group's name, the objective, the room, the
    substitute's name) is escaped; the rest is the page's own words, times and numbers."""
    starts_at, ends_at = session.starts_at.astimezone(drawing.zone), session.ends_at.astimezone(drawing.zone)
    start, end = drawing.write(starts_at.time(), "g:i A"), drawing.write(ends_at.time(), "g:i A")
    if show_date:
        start = f"{drawing.write(starts_at.date(), 'D M j')}, {start}"
    members = f"{session.roster_size} member{'' if session.roster_size == 1 else 's'}"
    substitute = (
        f" · substitute: {escaped(session.facilitator)}"
        if session.facilitator_id != session.group.facilitator_id
        else ""
    )
    return (
        f'<a href="{session_url(session.pk)}" class="list-group-item list-group-item-action py-3'
        f'{" text-body-secondary" if session.is_cancelled else ""}" data-session="{session.pk}">'
        '<div class="d-flex flex-wrap justify-content-between gap-2"><div>'
        f'<div class="fw-semibold">{start}–{end} · {escaped(session.group.name)}</div>'
        f'<div class="small">{escaped(session.objective)}</div>'
        f'<div class="small text-body-secondary">{escaped(session.room or "Video")} · {members}{substitute}</div>'
        '</div><div class="d-flex flex-wrap align-content-start gap-1">'
        f"{''.join(_badges(session, now=drawing.now))}</div></div></a>"
    )


def _badge(colour: str, words: str, attributes: str = "") -> str:
    return f'<span class="badge text-bg-{colour}"{attributes}>{words}</span>'


# Each badge's markup, written once.
CANCELLED = _badge("secondary", "Cancelled")
HELD = _badge("success", "Held")
NOT_DOCUMENTED = _badge("danger", "Not documented", ' data-state="not_documented"')
ATTENDANCE_TO_TAKE = _badge("warning", "Attendance to take")
NOTE_SIGNED = _badge("success", "Note signed")
NOTE_TO_SIGN = _badge("warning", "Note to sign")
NOTE_TO_WRITE = _badge("warning", "Note to write")


def _badges(session: Session, *, now: datetime.datetime):
    """Each badge: what the session is and what is left to do."""
    if session.is_cancelled:
        yield CANCELLED
        return
    if session.status == Session.Status.HELD:
        yield HELD
    if session.state_at(now) == Session.State.NOT_DOCUMENTED:
        yield NOT_DOCUMENTED
    if session.attendance_due:
        yield ATTENDANCE_TO_TAKE
    if session.note_signed:
        yield NOTE_SIGNED
    elif session.note_started:
        yield NOTE_TO_SIGN
    elif session.attendance_count:
        yield NOTE_TO_WRITE
