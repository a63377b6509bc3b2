"""The dashboard's clinical lines (``iop.dashboard``): clients below the weekly hours minimum last
week, open safety alerts and overdue treatment plan reviews. Each names clients (the page records
the read); what the alert's answer was is clinical detail, shown only to readers of note text."""

import datetime
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import formats, timezone

from iop import dashboard
from iop.clock import monday_of
from progress import course, measures, safety, selectors

ANSWER_WORDS = dict(measures.ANSWERS)


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f} h".replace(".0 h", " h")


def below_minimum(request, *, moment: dashboard.Moment, limit: int) -> dashboard.Section | None:
    if not request.user.has_perm("progress.view_attendance"):
        return None
    monday = monday_of(moment.today) - course.WEEK
    rows, total = dashboard.bounded(
        course.below_minimum(monday=monday).only(
            "pk", "chart_number", "legal_first_name", "legal_last_name", "preferred_name", "level_of_care"
        ),
        limit,
    )
    attendance = reverse("admin:progress_attendance_changelist")
    lines = [
        dashboard.Line(
            text=str(client),
            url=reverse("admin:clients_client_change", args=[client.pk]),
            cells=(f"{_hours(client.minutes)} of {_hours(client.minimum_minutes)}",),
            links=(("Attendance", f"{attendance}?{urlencode({'client__id__exact': client.pk})}"),),
            tone="warning",
        )
        for client in rows
    ]
    sunday = monday + datetime.timedelta(days=6)
    return dashboard.Section(
        name="hours",
        title="Below the weekly hours minimum last week",
        headers=("Client", "Hours", "See"),
        lines=lines,
        total=total,
        empty="Every client in care attended their level of care's weekly minimum last week.",
        note=f"{formats.date_format(monday, 'M j')} – {formats.date_format(sunday, 'M j')}: hours attended at "
        "sessions marked held, against the minimum of the client's level of care.",
        clients=[client.pk for client in rows],
    )


def open_safety_alerts(request, *, moment: dashboard.Moment, limit: int) -> dashboard.Section | None:
    if not request.user.has_perm("progress.view_safetyalert"):
        return None
    rows, total = dashboard.bounded(safety.open_alerts(), limit)
    may_follow_up = request.user.has_perm("progress.change_safetyalert")
    clinical = selectors.may_read_note_text(request.user)
    lines = []
    for alert in rows:
        raised = timezone.localtime(alert.raised_at)
        cells = [f"{formats.date_format(raised, 'M j, H:i')} ({(moment.now - alert.raised_at).days} days)"]
        if clinical:
            cells.append(f"PHQ-9 item 9: {ANSWER_WORDS.get(alert.response.item_9, '—')}")
        lines.append(
            dashboard.Line(
                text=str(alert.client),
                url=reverse(
                    "admin:progress_safetyalert_follow_up" if may_follow_up else "admin:progress_safetyalert_change",
                    args=[alert.pk],
                ),
                cells=tuple(cells),
                tone="warning",
            )
        )
    headers = ("Client", "Raised", "Answer") if clinical else ("Client", "Raised")
    return dashboard.Section(
        name="safety",
        title="Open safety alerts",
        headers=headers,
        lines=lines,
        total=total,
        empty="No safety alert is waiting for a follow-up.",
        more_url=f"{reverse('admin:progress_safetyalert_changelist')}?{urlencode({'state': 'open'})}",
        clients=[alert.client_id for alert in rows],
    )


def overdue_plan_reviews(request, *, moment: dashboard.Moment, limit: int) -> dashboard.Section | None:
    if not request.user.has_perm("progress.view_treatmentplan"):
        return None
    plans = selectors.plans_overdue(moment.today).select_related("client")
    rows, total = dashboard.bounded(plans, limit)
    lines = []
    for plan in rows:
        due = selectors.review_due_on(plan)
        lines.append(
            dashboard.Line(
                text=str(plan.client),
                url=reverse("admin:progress_treatmentplan_change", args=[plan.pk]),
                cells=(f"{formats.date_format(due, 'M j')} ({(moment.today - due).days} days overdue)",),
                tone="warning",
            )
        )
    return dashboard.Section(
        name="plan-reviews",
        title="Treatment plan reviews overdue",
        headers=("Client", "Review was due"),
        lines=lines,
        total=total,
        empty="Every plan of a client in care has been reviewed in time.",
        more_url=f"{reverse('admin:progress_treatmentplan_changelist')}?{urlencode({'review': 'overdue'})}",
        clients=[plan.client_id for plan in rows],
    )


def register() -> None:
    dashboard.register("safety", 5, open_safety_alerts)
    dashboard.register("hours", 60, below_minimum)
    dashboard.register("plan-reviews", 70, overdue_plan_reviews)
