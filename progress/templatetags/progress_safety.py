"""What the therapist layout shows at the top of every page, and the dashboard's list of clients
not on track: tags, so that every therapist page has them without each view asking, at a fixed
number of queries (one, and one audit row when it names a client)."""

from functools import cache

from django import template
from django.db.models import QuerySet
from django.utils import timezone

from audit.trail import Action, record
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


@register.inclusion_tag("progress/_not_on_track.html", takes_context=True)
def not_on_track_list(context):
    therapist = _therapist(context)
    if therapist is None:
        return {"off_track": []}
    off_track, more = checkins.not_on_track_clients(therapist, now=timezone.now())
    if off_track:
        record(
            Action.VIEW,
            target=MeasureResponse,
            clients=[row.client.pk for row in off_track],
            detail="clients not on track",
        )
    return {"off_track": off_track, "more_off_track": more}
