"""The session page's rows, one per roster member, written out in Python: the attendance form's
rows while attendance is open, the recorded attendance once it is closed. Through the template,
each row was a dozen lookups, tests and URL tags, and a page draws one for every member (the
cells of a form's row are ``AttendanceForm.roster_cells``). The HTML is the template's."""

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from clients.models import Client
from progress.forms import BaseRosterFormSet
from progress.models import Attendance

register = template.Library()

NO_AGREEMENT = '<span class="badge text-bg-danger">No current confidentiality agreement</span>'
# Read once: ``get_FOO_display()`` builds a field's choices again at each call.
STATUSES = dict(Attendance.Status.choices)
MODES = dict(Attendance.Mode.choices)
PARTICIPATION = dict(Attendance.Participation.choices)


def _member_links(member: Client, name: str, *, plan: str, between: str, css: str = "") -> str:
    """Links to the member's treatment plan and progress, each named for a screen reader."""
    of = f'<span class="visually-hidden"> of {name}</span>'
    return (
        f'<a{css} href="{reverse("therapist:plan", args=[member.pk])}">{plan}{of}</a>{between}'
        f'<a{css} href="{reverse("therapist:progress", args=[member.pk])}">progress{of}</a>'
    )


@register.simple_tag
def attendance_rows(formset: BaseRosterFormSet, plan_links: bool) -> SafeString:
    """The attendance form, a row for each member: their name, their links (``plan_links``: the
    group's facilitators, not a substitute), a missing confidentiality agreement, the row's
    errors, and its cells."""
    rows = []
    for form in formset:
        member = form.member
        name = conditional_escape(member.display_name)
        links = ""
        if plan_links:
            links = _member_links(member, name, plan="plan", between=" · ")
            links = f'<span class="roster-links small">{links}</span>'
        errors = " ".join(conditional_escape(error) for error in form.non_field_errors())
        errors = f'<div class="text-danger small">{errors}</div>' if errors else ""
        rows.append(
            f'<div class="attendance-row{" has-errors" if form.errors else ""}" role="group"'
            f' aria-labelledby="member-{member.pk}" data-client="{member.pk}">\n'
            f'<div class="roster-member">\n<span class="fw-semibold" id="member-{member.pk}">{name}</span>\n{links}\n'
            f"{'' if member.agreement_in_force else NO_AGREEMENT}\n{errors}\n{form['client']}\n</div>\n"
            f"{form.roster_cells()}\n</div>"
        )
    # Every value above is escaped or drawn by the form.
    return mark_safe("\n".join(rows))


@register.simple_tag
def recorded_attendance(roster: list[Client], plan_links: bool) -> SafeString:
    """The roster once attendance is closed: each member with what was recorded for them."""
    items = []
    for member in roster:
        name = conditional_escape(member.display_name)
        links = ""
        if plan_links:
            links = " " + _member_links(
                member, name, plan="treatment plan", between=" ", css=' class="small fw-normal ms-1"'
            )
        attendance = member.attendance
        if attendance is None:
            recorded = '<div class="small text-body-secondary">No attendance recorded.</div>'
        else:
            parts = (
                STATUSES.get(attendance.status, attendance.status),
                f"{attendance.minutes_attended} min",
                MODES.get(attendance.mode, attendance.mode),
                PARTICIPATION.get(attendance.participation, attendance.participation),
            )
            recorded = f'<div class="small">{" · ".join(conditional_escape(part) for part in parts)}</div>'
            if attendance.observation:
                observation = conditional_escape(attendance.observation)
                recorded += f'\n<div class="small text-body-secondary">{observation}</div>'
        items.append(f'<li class="list-group-item">\n<div class="fw-semibold">{name}{links}</div>\n{recorded}\n</li>')
    # Every value above is escaped.
    return mark_safe("\n".join(items))
