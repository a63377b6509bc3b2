"""The dashboard's list of treatment plans overdue for review: a tag, so the dashboard's view
stays as it is and the list costs one bounded query (and one audit row when it names a client)."""

from django import template
from django.utils import timezone

from audit.trail import Action, record
from iop.links import urls_of
from progress import selectors
from progress.models import TreatmentPlan

register = template.Library()

# The dashboard lists at most this many, the longest overdue first; more say how many more.
REVIEWS_SHOWN = 10


@register.inclusion_tag("progress/_plan_reviews_due.html", takes_context=True)
def plan_reviews_due(context):
    therapist = context.get("therapist")
    if therapist is None:
        return {"overdue_plans": []}
    today = timezone.localdate()
    plans = list(selectors.overdue_plan_reviews(therapist, today=today)[: REVIEWS_SHOWN + 1])
    if plans:
        record(
            Action.VIEW,
            target=TreatmentPlan,
            clients=[plan.client_id for plan in plans[:REVIEWS_SHOWN]],
            detail="treatment plans overdue for review",
        )
    plan_url, progress_url = urls_of("therapist:plan"), urls_of("therapist:progress")
    for plan in plans:
        plan.review_due_on = selectors.review_due_on(plan)
        plan.plan_url, plan.progress_url = plan_url(plan.client_id), progress_url(plan.client_id)
    return {"overdue_plans": plans[:REVIEWS_SHOWN], "more_overdue_plans": len(plans) > REVIEWS_SHOWN}
