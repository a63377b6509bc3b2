"""The client's week, day by day, drawn in one pass: ``{% load portal_week %}{% week_days days %}``.
A client in six groups has some thirty sessions a week; through the template each card was
some thirty lookups, tests, translations and filters (about half the page's time). The HTML
is the template's; each card reads what the week view worked out (``is_over``, ``is_next``,
``kind_name``). Words are translated as the template's tags translate them: ``{% translate %}``
escapes its words, ``{% blocktranslate %}`` only the values it fills in.

Every value is escaped with ``iop.html.escaped``: Django's ``escape`` adds a check for lazy
translations and a SafeString around each of the card's ten or so values, some two hundred calls
a page."""

import datetime

from django import template
from django.utils import timezone
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from iop import i18n
from iop.html import escaped
from scheduling.models import Session

register = template.Library()


@register.simple_tag
def week_days(days: list[dict]) -> SafeString:
    """Each day with sessions: its heading (today marked) and its sessions' cards."""
    words = _Words()
    sections = []
    for day in days:
        if not day["sessions"]:
            continue
        if day["is_today"]:
            css, current = " day-today", ' aria-current="date"'
            today = f' <span class="badge text-bg-primary" data-testid="today">{words.today}</span>'
        else:
            css, current, today = (" day-past" if day["is_past"] else ""), "", ""
        cards = "\n".join(_card(session, words) for session in day["sessions"])
        sections.append(
            f'<section class="mb-3 day{css}" data-testid="day"{current}>\n'
            f'<h2 class="day-heading mb-2">{escaped(words.day(day["date"]))}{today}</h2>\n{cards}\n</section>'
        )
    # Every value above is escaped.
    return mark_safe("\n".join(sections))


class _Words:
    """The page's words in the active language, each translated (and each time written) once."""

    def __init__(self):
        self.past = escaped(gettext("Past"))
        self.next = escaped(gettext("Next"))
        self.today = escaped(gettext("Today"))
        self.join_video = escaped(gettext("Join video"))
        self.minutes_format = gettext("%(minutes)s min")
        self.cancelled_format = gettext("Cancelled: %(reason)s")
        self.zone = timezone.get_current_timezone()
        # A client's groups meet at the same few times of day, in the same few places.
        self.times: dict[datetime.time, str] = {}
        self.durations: dict[int, str] = {}
        self.places: dict[tuple[str, str], str] = {}

    def day(self, day: datetime.date) -> str:
        return i18n.local_date(day, "day")

    def time(self, moment: datetime.datetime) -> str:
        # The clinic's wall clock, as ``i18n.local_time`` reads it.
        time_of_day = moment.astimezone(self.zone).time()
        if time_of_day not in self.times:
            self.times[time_of_day] = escaped(i18n.local_time(time_of_day))
        return self.times[time_of_day]

    def minutes(self, minutes: int) -> str:
        if minutes not in self.durations:
            self.durations[minutes] = self.minutes_format % {"minutes": escaped(localize(minutes))}
        return self.durations[minutes]

    def cancelled(self, reason: str) -> str:
        return self.cancelled_format % {"reason": escaped(reason)}

    def place(self, session: Session) -> str:
        """Where the session is, in words ("Room 4", "Online", "Room 4, or online")."""
        key = (session.room, session.video_link)
        if key not in self.places:
            self.places[key] = escaped(session.where.in_words())
        return self.places[key]


def _card(session: Session, words: _Words) -> str:
    state = " cancelled" if session.is_cancelled else " past" if session.is_over else ""
    if session.is_over and not session.is_cancelled:
        badge = f'<span class="badge text-bg-light border mb-1" data-testid="past">{words.past}</span>'
    elif session.is_next:
        badge = f'<span class="badge text-bg-primary mb-1" data-testid="next">{words.next}</span>'
    else:
        badge = ""
    if session.is_cancelled:
        place = f'<div class="small text-danger mt-1">{words.cancelled(session.cancellation_reason)}</div>'
    else:
        place = f'<div class="small text-secondary mt-1" data-testid="place">{words.place(session)}</div>'
        if session.video_link and not session.is_over:
            place += (
                f'\n<a class="btn btn-sm btn-success mt-1" href="{escaped(session.video_link)}" target="_blank"'
                f' rel="noopener">{words.join_video}</a>'
            )
    return (
        f'<article class="card session-card mb-2{state}{" next" if session.is_next else ""}" data-testid="session"'
        f'{" data-past" if session.is_over else ""}>\n<div class="card-body py-2">\n'
        f'<div class="d-flex justify-content-between flex-wrap">\n'
        f'<strong class="session-time">{words.time(session.starts_at)} – {words.time(session.ends_at)}</strong>\n'
        f'<span class="text-secondary small">{words.minutes(session.duration_minutes)} · '
        f"{escaped(session.kind_name)}</span>\n</div>\n{badge}\n"
        f'<div class="session-title fw-semibold">{escaped(session.group.name)}</div>\n'
        f'<div class="small">{escaped(session.objective)}</div>\n{place}\n</div>\n</article>'
    )
