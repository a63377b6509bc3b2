"""What the therapist layout shows at the top of every page, and the dashboard's list of clients
not on track: tags, so that every therapist page has them without each view asking, at a fixed
number of queries (one, and one audit row when it names a client)."""

import datetime
from typing import NamedTuple

from django import template
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe

from audit.trail import Action, record
from clients.models import Client
from groups.models import Therapist
from iop.html import escaped
from iop.links import urls_of
from iop.statements import rows_of
from progress import checkins, measures, safety
from progress.models import MeasureResponse, SafetyAlert
from progress.templatetags.progress_cards import NOTHING_LISTED, dashboard_list

register = template.Library()


class _Alert(NamedTuple):
    """What the banner says of an open alert: its client by the names ``Client`` shows them by
    (its own ``first_name`` and ``display_name``), the chart number, and item 9's answer."""

    pk: int
    raised_at: datetime.datetime
    client_id: int
    legal_first_name: str
    legal_last_name: str
    preferred_name: str
    chart_number: str
    item_9: int

    first_name = Client.first_name
    display_name = Client.display_name


# What the banner reads of each alert, in the order of ``_Alert``.
BANNER_FIELDS = (
    "pk",
    "raised_at",
    "client_id",
    "client__legal_first_name",
    "client__legal_last_name",
    "client__preferred_name",
    "client__chart_number",
    "response__item_9",
)

# Item 9's answer in the questionnaire's own words (an answer of 0 raises no alert).
ANSWER_WORDS = dict(measures.ANSWERS)


def _therapist(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    therapist = getattr(user, "therapist", None)
    return therapist if therapist is not None and therapist.is_active else None


@rows_of
def _banner_rows(therapist_id: int) -> QuerySet:
    """The open alerts of a therapist's current clients, oldest first, one more than the banner
    shows (to know whether there are more): ``safety.open_alerts_for_therapist``, compiled once
    for the process (``iop.statements``), as every therapist page asks it."""
    alerts = safety.open_alerts_for_therapist(Therapist(pk=therapist_id))
    return alerts.values_list(*BANNER_FIELDS)[: safety.ALERTS_SHOWN + 1]


@register.simple_tag(takes_context=True)
def safety_alerts_banner(context) -> SafeString:
    """The open safety alerts of the therapist's current clients, oldest first. Drawn here rather
    than through a template, as the dashboard's cards are (``progress_cards``): it is on every
    therapist page."""
    therapist = _therapist(context)
    alerts = [] if therapist is None else [_Alert(*row) for row in _banner_rows(therapist.pk)]
    if alerts:
        record(Action.VIEW, target=SafetyAlert, clients=[a.client_id for a in alerts], detail="open safety alerts")
    return _banner(alerts[: safety.ALERTS_SHOWN], more=len(alerts) > safety.ALERTS_SHOWN)


def _banner(alerts: list[_Alert], *, more: bool) -> SafeString:
    """The banner's markup, or none without alerts. What a person wrote (the client's names and
    chart number) is escaped; the rest is the page's own words, numbers and dates."""
    if not alerts:
        return NOTHING_LISTED
    alert_url = urls_of("therapist:alert")
    rows = "".join(_banner_row(alert, url=alert_url(alert.pk)) for alert in alerts)
    more_words = (
        '<p class="small mb-0 mt-1">More open alerts are waiting; each one followed up brings the next.</p>'
        if more
        else ""
    )
    return mark_safe(
        '\n<section class="alert alert-danger mb-3 no-print" aria-labelledby="safety-alerts-heading"'
        ' data-testid="safety-alerts">\n'
        '  <h2 class="h6 mb-2" id="safety-alerts-heading">Safety alerts to follow up</h2>\n'
        f'  <ul class="list-unstyled mb-0">\n    {rows}\n  </ul>\n  {more_words}\n</section>\n\n'
    )


def _banner_row(alert: _Alert, *, url: str) -> str:
    name = escaped(alert.display_name)
    answered = escaped(ANSWER_WORDS[alert.item_9])
    raised = escaped(formats.date_format(timezone.localtime(alert.raised_at), "D M j, g:i A"))
    return (
        '\n      <li class="d-flex flex-wrap justify-content-between align-items-center gap-2 py-1"'
        f' data-alert="{alert.pk}">\n'
        f"        <span><strong>{name}</strong> ({escaped(alert.chart_number)}) — PHQ-9 item 9 answered"
        f" “{answered}”, {raised}</span>\n"
        f'        <a class="btn btn-sm btn-danger" href="{url}">Record follow-up'
        f'<span class="visually-hidden"> for {name}</span></a>\n'
        "      </li>\n    "
    )


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
    return dashboard_list(
        testid="not-on-track",
        title="Clients not on track",
        note="No reliable improvement four weeks after their first questionnaire, or reliably worse than at it.",
        rows=rows,
        more=MORE_OFF_TRACK if more else "",
        tag="ul",
    )


MORE_OFF_TRACK = '<p class="small mt-1 mb-0">More clients are not on track than shown here.</p>'
