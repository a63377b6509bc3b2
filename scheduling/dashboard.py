"""The dashboard's sessions (``iop.dashboard``): today's, with how far each is documented, and the
past ones nobody documented, by therapist. Sessions name no client: the lines link to the
session's admin page (its attendance) and to the sessions list filtered to what is missing."""

from collections import defaultdict
from urllib.parse import urlencode

from django.db.models import Count, Min
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import formats, timezone

from iop import dashboard
from iop.clock import start_of_day, start_of_day_after
from scheduling.models import Session

# The sessions list's filter (progress.admin.SessionShownFilter): its parameter and choices.
SHOWN_PARAMETER = "shown"
SHOWN_TODAY = "today"
SHOWN_NOT_DOCUMENTED = "not_documented"
SHOWN_NOTE_OVERDUE = "note_overdue"


def sessions_list(**parameters) -> str:
    return f"{reverse('admin:scheduling_session_changelist')}?{urlencode(parameters)}"


def _documented(session: Session, now) -> str:
    """What has been recorded for the session: the words of its state on today's list."""
    state = session.state_at(now)
    if state != Session.State.HELD:
        return state.label
    attendance = "attendance taken" if session.first_recorded_at else "marked held"
    note = "note signed" if session.note_signed_at else "note not signed"
    return f"Held: {attendance}, {note}"


def todays_sessions(request, *, moment: dashboard.Moment, limit: int) -> dashboard.Section | None:
    if not request.user.has_perm("scheduling.view_session"):
        return None
    sessions = (
        Session.objects.filter(
            starts_at__gte=start_of_day(moment.today), starts_at__lt=start_of_day_after(moment.today)
        )
        .select_related("group", "facilitator__user")
        .order_by("starts_at", "pk")
    )
    rows, total = dashboard.bounded(sessions, limit)
    lines = []
    for session in rows:
        state = session.state_at(moment.now)
        lines.append(
            dashboard.Line(
                text=f"{timezone.localtime(session.starts_at):%H:%M} {session.group.name}",
                url=reverse("admin:scheduling_session_change", args=[session.pk]),
                cells=(str(session.facilitator), _documented(session, moment.now)),
                tone="warning" if state == Session.State.NOT_DOCUMENTED else "",
            )
        )
    return dashboard.Section(
        name="today",
        title=f"Today's sessions, {formats.date_format(moment.today, 'l, F j')}",
        headers=("Session", "Facilitator", "State"),
        lines=lines,
        total=total,
        empty="No sessions today.",
        more_url=sessions_list(**{SHOWN_PARAMETER: SHOWN_TODAY}),
    )


def undocumented_by_therapist(request, *, moment: dashboard.Moment, limit: int) -> dashboard.Section | None:
    """Per facilitator (a substitute answers for the meetings they covered): past meetings with
    no attendance, and met meetings whose note is unsigned 24 hours after. Two grouped counts,
    each read from its partial index."""
    if not request.user.has_perm("scheduling.view_session"):
        return None
    name_fields = ("facilitator__user__first_name", "facilitator__user__last_name", "facilitator__user__username")
    counts: dict[int, dict] = defaultdict(lambda: {"undocumented": 0, "unsigned": 0, "since": None})
    kinds = {
        "undocumented": Session.objects.not_documented(now=moment.now),
        "unsigned": Session.objects.note_overdue(now=moment.now),
    }
    for kind, sessions in kinds.items():
        grouped = sessions.order_by().values("facilitator", "facilitator__credentials", *name_fields)
        for row in grouped.annotate(count=Count("pk"), since=Min("starts_at")):
            therapist = counts[row["facilitator"]]
            therapist[kind] = row["count"]
            therapist["since"] = min(filter(None, [therapist["since"], row["since"]]))
            first, last, username = (row[name] for name in name_fields)
            therapist["name"] = f"{first} {last}".strip() or username
            if row["facilitator__credentials"]:
                therapist["name"] += f", {row['facilitator__credentials']}"
    # The most to catch up on first.
    ordered = sorted(counts.items(), key=lambda item: (-(item[1]["undocumented"] + item[1]["unsigned"]), item[0]))
    lines = []
    for facilitator, row in ordered[:limit]:
        links = []
        if row["undocumented"]:
            links.append(
                (
                    f"{row['undocumented']} without attendance",
                    sessions_list(**{SHOWN_PARAMETER: SHOWN_NOT_DOCUMENTED, "facilitator__id__exact": facilitator}),
                )
            )
        if row["unsigned"]:
            links.append(
                (
                    f"{row['unsigned']} note{pluralize(row['unsigned'])} unsigned after 24 h",
                    sessions_list(**{SHOWN_PARAMETER: SHOWN_NOTE_OVERDUE, "facilitator__id__exact": facilitator}),
                )
            )
        lines.append(
            dashboard.Line(
                text=row["name"],
                url=reverse("admin:groups_therapist_change", args=[facilitator]),
                cells=(formats.date_format(timezone.localtime(row["since"]), "M j"),),
                links=tuple(links),
                tone="warning",
            )
        )
    return dashboard.Section(
        name="undocumented",
        title="Past sessions not documented",
        headers=("Therapist", "Oldest", "To do"),
        lines=lines,
        total=len(ordered),
        empty="Every past session has its attendance, and every note is signed within 24 hours.",
        more_url=sessions_list(**{SHOWN_PARAMETER: SHOWN_NOT_DOCUMENTED}),
        note="Attendance missing once a session has ended; notes unsigned 24 hours after it.",
    )


def register() -> None:
    dashboard.register("today", 10, todays_sessions)
    dashboard.register("undocumented", 20, undocumented_by_therapist)
