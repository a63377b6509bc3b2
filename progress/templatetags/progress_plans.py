"""The dashboard's list of treatment plans overdue for review: a tag, so the dashboard's view
stays as it is and the list costs one bounded query (and one audit row when it names a client).
It is drawn here rather than through an included template, as the session cards are
(``progress_cards``)."""

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from audit.trail import Action, record
from iop.html import escaped
from iop.i18n import formatted
from iop.links import urls_of
from progress import selectors
from progress.models import TreatmentPlan
from progress.templatetags.progress_cards import NOTHING_LISTED, dashboard_list

register = template.Library()

# The dashboard lists at most this many, the longest overdue first; more say how many more.
REVIEWS_SHOWN = 10


@register.simple_tag(takes_context=True)
def plan_reviews_due(context) -> SafeString:
    """Each overdue plan a link to it, with the day its review was due and a link to the client's
    progress."""
    therapist = context.get("therapist")
    if therapist is None:
        return NOTHING_LISTED
    today = timezone.localdate()
    plans = selectors.first_overdue_plan_reviews(therapist, today=today, count=REVIEWS_SHOWN + 1)
    if not plans:
        return NOTHING_LISTED
    shown = plans[:REVIEWS_SHOWN]
    record(
        Action.VIEW,
        target=TreatmentPlan,
        clients=[plan.client_id for plan in shown],
        detail="treatment plans overdue for review",
    )
    plan_url, progress_url = urls_of("therapist:plan"), urls_of("therapist:progress")
    # Every value a person wrote (the client's names and chart number) is escaped.
    rows = "".join(
        '\n      <div class="list-group-item list-group-item-warning">\n'
        f'        <a href="{plan_url(plan.client_id)}">{escaped(plan.client.display_name)}'
        f" ({escaped(plan.client.chart_number)}) — review was due"
        f" {escaped(formatted(selectors.review_due_on(plan), 'D M j'))}</a>\n"
        f'        · <a class="small" href="{progress_url(plan.client_id)}">progress<span class="visually-hidden">'
        f" of {escaped(plan.client.display_name)}</span></a>\n"
        "      </div>\n    "
        for plan in shown
    )
    return dashboard_list(
        testid="plan-reviews-due",
        title="Treatment plans overdue for review",
        rows=rows,
        more=MORE_OVERDUE_PLANS if len(plans) > REVIEWS_SHOWN else "",
    )


MORE_OVERDUE_PLANS = '<p class="small mt-1 mb-0">More plans are overdue than shown here; the oldest come first.</p>'
