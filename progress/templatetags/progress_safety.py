"""What the therapist layout shows at the top of every page, and the dashboard's list of clients
not on track: tags, so that every therapist page has them without each view asking, at a fixed
number of queries (one, and one audit row when it names a client)."""

from functools import cache

from django import template
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from audit.trail import Action, record
from iop.html import escaped
from iop.links import urls_of
from progress import checkins, safety
from progress.models import MeasureResponse, SafetyAlert

register = template.Library()


BANNER_FIELDS = (
    "raised_at",
    "client__legal_first_name",
    "client__legal_last_name",
    "client__preferred_name",
    "client__chart_number",
    "response__item_9",
)


def _therapist(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    therapist = getattr(user, "therapist", None)
    return therapist if therapist is not None and therapist.is_active else None


@cache
def _banner_alerts() -> QuerySet[SafetyAlert]:
    """The open alerts, with only what the banner says of each. Built once for the process, as a
    class-based view's ``queryset`` is: every therapist page draws the banner, and each filters a
    copy to the therapist's clients."""
    return safety.open_alerts().only(*BANNER_FIELDS)


@register.inclusion_tag("progress/_safety_alerts.html", takes_context=True)
def safety_alerts_banner(context):
    """The open safety alerts of the therapist's current clients, oldest first."""
    therapist = _therapist(context)
    if therapist is None:
        return {"alerts": []}
    shown = safety.open_alerts_for_therapist(therapist, among=_banner_alerts())
    alerts = list(shown[: safety.ALERTS_SHOWN + 1])
    if alerts:
        record(Action.VIEW, target=SafetyAlert, clients=[a.client_id for a in alerts], detail="open safety alerts")
    return {"alerts": alerts[: safety.ALERTS_SHOWN], "more_alerts": len(alerts) > safety.ALERTS_SHOWN}


@register.simple_tag(takes_context=True)
def not_on_track_list(context) -> SafeString:
    """The therapist's clients not on track, each a link to their progress, drawn here rather than
    through an included template (as ``progress_cards``): the dashboard's three lists of clients
    cost more to draw through their templates than their rows are worth."""
    therapist = _therapist(context)
    if therapist is None:
        return NOTHING_LISTED
    off_track, more = checkins.not_on_track_clients(therapist, now=timezone.now())
    if not off_track:
        return NOTHING_LISTED
    record(
        Action.VIEW,
        target=MeasureResponse,
        clients=[row.client.pk for row in off_track],
        detail="clients not on track",
    )
    progress_url = urls_of("therapist:progress")
    # Every value a person wrote (the client's names and chart number) is escaped.
    rows = "".join(
        '\n      <li class="list-group-item list-group-item-warning">\n'
        f'        <strong><a href="{progress_url(row.client.pk)}">{escaped(row.client.display_name)}</a></strong>'
        f" ({escaped(row.client.chart_number)}) — {escaped(row.name)} {row.baseline_total} → {row.latest_total}:"
        f" {escaped(str(row.change.label).lower())}\n"
        "      </li>\n    "
        for row in off_track
    )
    return mark_safe(
        '\n<section class="mb-4" data-testid="not-on-track">\n'
        '  <h2 class="day-heading">Clients not on track</h2>\n'
        '  <p class="small text-body-secondary mb-2">No reliable improvement four weeks after their first'
        " questionnaire, or reliably worse than at it.</p>\n"
        f'  <ul class="list-group">\n    {rows}\n  </ul>\n'
        f"  {MORE_OFF_TRACK if more else ''}\n</section>\n\n"
    )


# What the list draws when it has no rows: the blank line its included template drew.
NOTHING_LISTED = mark_safe("\n")
MORE_OFF_TRACK = '<p class="small mt-1 mb-0">More clients are not on track than shown here.</p>'
