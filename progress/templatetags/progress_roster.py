"""The session and note pages' rows, one per roster member, written out in Python: the
attendance form's rows while attendance is open, the recorded attendance once it is closed, the
note's individualized parts while it is written and once it is signed, and the group page's
participation balance. Through the template, each row was a dozen or more lookups, tests and URL tags, and a
page draws one for every member (the cells of an attendance row are
``AttendanceForm.roster_cells``). The HTML is the template's."""

import re
from collections.abc import Callable

from django import template
from django.utils.safestring import SafeString, mark_safe

from clients.models import Client
from iop.html import escaped
from iop.links import urls_of
from progress.forms import BaseRosterFormSet, IndividualNoteForm
from progress.models import Attendance, Goal, IndividualNote
from progress.selectors import MemberBalance

register = template.Library()

NO_AGREEMENT = '<span class="badge text-bg-danger">No current confidentiality agreement</span>'
# Read once: ``get_FOO_display()`` builds a field's choices again at each call.
STATUSES = dict(Attendance.Status.choices)
MODES = dict(Attendance.Mode.choices)
PARTICIPATION = dict(Attendance.Participation.choices)
GOAL_STATUSES = dict(Goal.Status.choices)


class _MemberUrls:
    """The addresses of each roster member's plan and progress pages, each reversed once for the
    roster (``iop.links``): a roster asks for two a member."""

    def __init__(self):
        self.plan = urls_of("therapist:plan")
        self.progress = urls_of("therapist:progress")


def _member_links(member: Client, name: str, urls: _MemberUrls, *, plan: str, between: str, css: str = "") -> str:
    """Links to the member's treatment plan and progress, each named for a screen reader."""
    of = f'<span class="visually-hidden"> of {name}</span>'
    return (
        f'<a{css} href="{urls.plan(member.pk)}">{plan}{of}</a>{between}'
        f'<a{css} href="{urls.progress(member.pk)}">progress{of}</a>'
    )


@register.simple_tag
def attendance_rows(formset: BaseRosterFormSet, plan_links: bool) -> SafeString:
    """The attendance form, a row for each member: their name, their links (``plan_links``: the
    group's facilitators, not a substitute), a missing confidentiality agreement, the row's
    errors, and its cells."""
    rows = []
    urls = _MemberUrls() if plan_links else None
    for form in formset:
        member = form.member
        name = escaped(member.display_name)
        links = ""
        if plan_links:
            links = _member_links(member, name, urls, plan="plan", between=" · ")
            links = f'<span class="roster-links small">{links}</span>'
        errors = " ".join([escaped(error) for error in form.non_field_errors()])
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
    urls = _MemberUrls() if plan_links else None
    for member in roster:
        name = escaped(member.display_name)
        links = ""
        if plan_links:
            links = " " + _member_links(
                member, name, urls, plan="treatment plan", between=" ", css=' class="small fw-normal ms-1"'
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
            recorded = f'<div class="small">{" · ".join([escaped(part) for part in parts])}</div>'
            if attendance.observation:
                observation = escaped(attendance.observation)
                recorded += f'\n<div class="small text-body-secondary">{observation}</div>'
        items.append(f'<li class="list-group-item">\n<div class="fw-semibold">{name}{links}</div>\n{recorded}\n</li>')
    # Every value above is escaped.
    return mark_safe("\n".join(items))


@register.simple_tag
def note_parts(rows: list[tuple[Client, IndividualNoteForm]], plan_links: bool) -> SafeString:
    """The individualized part of each attending member, as a card: what was recorded for them,
    the BIRP fields, and a checkbox for each goal of their plan it may address (or, without
    one, a link to the plan for ``plan_links``)."""
    plan_url = urls_of("therapist:plan") if plan_links else None
    cards = []
    for member, form in rows:
        name = escaped(member.display_name)
        attendance = member.attendance
        recorded = " · ".join(
            [
                escaped(part)
                for part in (
                    STATUSES.get(attendance.status, attendance.status),
                    f"{attendance.minutes_attended} min",
                    PARTICIPATION.get(attendance.participation, attendance.participation),
                )
            ]
        )
        errors = " ".join([escaped(error) for error in form.non_field_errors()])
        errors = f'<div class="text-danger small">{errors}</div>' if errors else ""
        fields = "\n".join(
            [
                f'<div class="col-12 col-md-6">{form[field].as_field_group()}</div>'
                for field in ("behaviour", "intervention", "response", "plan")
            ]
        )
        cards.append(
            f'<div class="card mb-2 individual-note{" border-danger" if form.errors else ""}"'
            f' data-client="{member.pk}"><div class="card-body py-2">\n'
            f'<div class="d-flex flex-wrap justify-content-between">\n<span class="fw-semibold">{name}</span>\n'
            f'<span class="small text-body-secondary">{recorded}</span>\n</div>\n'
            f'{errors}\n{form["client"]}\n<div class="row">\n{fields}\n</div>\n'
            f"{_goal_boxes(member, name, form, plan_url)}\n</div></div>"
        )
    # Every value above is escaped or drawn by the form.
    return mark_safe("\n".join(cards))


@register.simple_tag
def signed_parts(parts: list[IndividualNote]) -> SafeString:
    """The individualized parts of a signed note, as cards: the member, the BIRP fields (each
    line kept, an empty one a dash) and the goals each part addressed."""
    cards = []
    for part in parts:
        fields = "\n".join(
            [
                f'<dt class="col-sm-3">{label}</dt><dd class="col-sm-9">{_lines(getattr(part, field), dash=dash)}</dd>'
                for label, field, dash in SIGNED_FIELDS
            ]
        )
        goals = "; ".join([escaped(goal.short) for goal in part.goals_addressed]) or "—"
        cards.append(
            f'<div class="card mb-2"><div class="card-body">\n'
            f'<h3 class="h6">{escaped(part.client.display_name)}</h3>\n<dl class="row mb-0 small">\n'
            f'{fields}\n<dt class="col-sm-3">Goals addressed</dt><dd class="col-sm-9 goals-addressed">{goals}</dd>\n'
            f"</dl>\n</div></div>"
        )
    # Every value above is escaped (``_lines`` escapes what it is given).
    return mark_safe("\n".join(cards))


# Each BIRP field of a signed part: its label, its name, and whether an empty one is a dash.
SIGNED_FIELDS = (
    ("Behaviour", "behaviour", False),
    ("Intervention", "intervention", True),
    ("Response", "response", True),
    ("Plan", "plan", True),
)


# The line ends that ``linebreaksbr`` turns into "\n" before drawing each as <br>.
_LINE_ENDS = re.compile(r"\r\n|\r")


def _lines(text: str, *, dash: bool) -> str:
    """The template's ``text|linebreaksbr`` (and ``|default:"—"`` where ``dash``): the text
    escaped, each line end a <br>. Written out as the filter does it: the filter's wrappers (for
    lazy strings and ``SafeData``, which a note's text never is) were three quarters of its cost,
    four times for each member of a signed note."""
    lines = escaped(_LINE_ENDS.sub("\n", text)).replace("\n", "<br>")
    return (lines or "—") if dash else lines


def _goal_boxes(member: Client, name: str, form: IndividualNoteForm, plan_url: Callable[[int], str] | None) -> str:
    field = form["goals"]
    errors = field.drawn_errors
    field_id = escaped(field.auto_id)
    described = f' aria-describedby="{field_id}_error"' if errors else ""
    invalid = " is-invalid" if errors else ""
    html_name = escaped(field.html_name)
    boxes = []
    for box_id, goal, ticked in form.goal_boxes():
        box_id = escaped(box_id)
        status = (
            ""
            if goal.is_active
            else f' <span class="text-body-secondary">({escaped(GOAL_STATUSES[goal.status].lower())})</span>'
        )
        boxes.append(
            f'<div class="form-check">\n<input class="form-check-input{invalid}" type="checkbox" name="{html_name}"'
            f' value="{goal.pk}" id="{box_id}"{" checked" if ticked else ""}>\n'
            f'<label class="form-check-label" for="{box_id}">{escaped(goal.short)}{status}</label>\n</div>'
        )
    if not boxes:
        link = f' — <a href="{plan_url(member.pk)}">open the plan</a>' if plan_url else ""
        boxes.append(
            f'<p class="small text-body-secondary mb-0">No active goals in {name}\'s treatment plan{link}.</p>'
        )
    error = (
        f'<div id="{field_id}_error" class="text-danger small">{" ".join([escaped(e) for e in errors])}</div>'
        if errors
        else ""
    )
    return (
        f'<fieldset class="mb-2 note-goals"{described}>\n<legend class="form-label fs-6 mb-1">Goals addressed'
        f' <span class="small text-body-secondary fw-normal">— from {name}\'s treatment plan</span></legend>\n'
        f"{''.join(boxes)}\n{error}\n</fieldset>"
    )


@register.simple_tag
def balance_rows(rows: list[MemberBalance]) -> SafeString:
    """The group page's participation balance: a row per member, a cell per recent session
    (their participation level, or their status when they did not attend), and the flag."""
    # A group's cells are a few statuses and levels over and over: each is drawn once.
    drawn: dict[tuple[str, int], str] = {}

    def cell(attendance: Attendance | None) -> str:
        if attendance is None:
            return '<td class="text-center"><span class="text-body-secondary">·</span></td>'
        key = (attendance.status, attendance.participation)
        if key not in drawn:
            if attendance.attended:
                level = PARTICIPATION.get(attendance.participation, attendance.participation)
                shown = f'<span title="{escaped(level)}">{attendance.participation}</span>'
            else:
                status = STATUSES.get(attendance.status, attendance.status)
                short = escaped(status[:3].lower())
                shown = f'<span class="text-body-secondary" title="{escaped(status)}">{short}</span>'
            drawn[key] = f'<td class="text-center">{shown}</td>'
        return drawn[key]

    lines = []
    for row in rows:
        flag = ""
        if row.likely_dominant:
            flag = '<span class="badge text-bg-warning">likely dominant</span>'
        elif row.likely_reluctant:
            flag = '<span class="badge text-bg-info">likely reluctant</span>'
        cells = "\n".join([cell(attendance) for attendance in row.cells])
        lines.append(
            f'<tr data-client="{row.client.pk}">\n'
            f'<th scope="row" class="fw-normal">{escaped(row.client.display_name)}</th>\n'
            f"{cells}\n<td>{flag}</td>\n</tr>"
        )
    # Every value above is escaped.
    return mark_safe("\n".join(lines))
