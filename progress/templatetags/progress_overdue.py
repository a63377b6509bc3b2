"""The list of sessions whose note is overdue, written out in Python: a therapist back from leave
has pages of them, and through the template each link was a date filter, a URL tag and a test."""

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from iop.html import escaped
from iop.i18n import formatted
from iop.links import urls_of
from progress.selectors import OverdueNote

register = template.Library()


@register.simple_tag
def overdue_links(sessions: list[OverdueNote], day_format: str) -> SafeString:
    """A link to each session's note: its day (``day_format``, as the date filter takes it), its
    group, and what is left to do (rows of ``selectors.overdue_sessions``)."""
    note_url = urls_of("therapist:note")
    links = []
    for session in sessions:
        day = formatted(timezone.localtime(session.starts_at).date(), day_format)
        to_do = "sign the note" if session.note_started else "write and sign the note"
        links.append(
            f'<a href="{note_url(session.pk)}"'
            ' class="list-group-item list-group-item-action list-group-item-warning">\n'
            f"{escaped(day)} · {escaped(session.group_name)} — {to_do}\n</a>"
        )
    # Every value above is escaped.
    return mark_safe("\n".join(links))
