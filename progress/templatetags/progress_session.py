"""The head of a session's two pages (attendance and progress note), drawn in Python: the way
back, the group, when and where, what the meeting is, and the tabs. Through an included
template it was five URL tags, three date filters and some twenty lookups and tests on every
session and note page, about a twentieth of each page's work. The HTML is the template's."""

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe

from iop.html import escaped
from scheduling.models import Session

register = template.Library()

STATE_COLOURS = {
    Session.State.HELD: "success",
    Session.State.CANCELLED: "secondary",
    Session.State.NOT_DOCUMENTED: "danger",
}


@register.simple_tag
def session_header(session: Session, *, tab: str) -> SafeString:
    """``tab`` is the page shown: "attendance" or "note"."""
    starts_at, ends_at = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    group_name = escaped(session.group.name)
    if session.room:
        place = escaped(session.room)
    else:
        place = f'<a href="{escaped(session.video_link)}" rel="noopener">video link</a>'
    state = session.state
    if session.cycle_step:
        swapped = ", swapped for this meeting" if session.topic_swapped else ""
        topic = (
            f' <span class="small" data-testid="cycle-place">· topic {session.cycle_step} of the group\'s cycle'
            f"{swapped}</span>"
        )
    elif session.topic_swapped:
        topic = ' <span class="small">· chosen for this meeting</span>'
    else:
        topic = ""
    pk = [session.pk]
    # Every value above and below is escaped, or a number, a URL or a fixed word.
    return mark_safe(
        f'<div class="mb-3">\n<div class="small text-body-secondary"><a href="{reverse("therapist:dashboard")}">'
        f'My sessions</a> / <a href="{reverse("therapist:group", args=[session.group_id])}">{group_name}</a></div>\n'
        f'<h1 class="h4 mb-1">{group_name}</h1>\n'
        f"<div>{escaped(formats.date_format(starts_at, 'l, F j'))}, {escaped(formats.time_format(starts_at, 'g:i A'))}"
        f"–{escaped(formats.time_format(ends_at, 'g:i A'))} · {place} · "
        f'<span class="badge text-bg-{STATE_COLOURS.get(state, "light")}" data-state="{str(state)}">'
        f"{escaped(state.label)}</span></div>\n"
        f'<div class="text-body-secondary">Objective: {escaped(session.objective)}{topic}</div>\n'
        f'<div class="small"><a href="{reverse("therapist:sign_in_sheet", args=pk)}">Sign-in sheet to print</a></div>\n'
        f'<ul class="nav nav-tabs mt-3">\n{_tab("Attendance", "therapist:session", pk, tab == "attendance")}\n'
        f"{_tab('Progress note', 'therapist:note', pk, tab == 'note')}\n</ul>\n</div>"
    )


def _tab(words: str, url_name: str, args: list, active: bool) -> str:
    return (
        f'<li class="nav-item"><a class="nav-link{" active" if active else ""}"'
        f' href="{reverse(url_name, args=args)}">{words}</a></li>'
    )
