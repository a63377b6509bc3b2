"""The dashboard's list of discharged clients whose discharge summary is not signed yet: a tag, so
the dashboard's view stays as it is and the list costs one bounded query (and one audit row when
it names a client)."""

from django import template

from audit.trail import Action, record
from clients.models import Client
from iop.links import urls_of
from progress import discharge

register = template.Library()

# The dashboard lists at most this many, the longest waiting first; more say there are more.
SUMMARIES_SHOWN = 10


@register.inclusion_tag("progress/_discharge_summaries_due.html", takes_context=True)
def discharge_summaries_due(context):
    therapist = context.get("therapist")
    if therapist is None:
        return {"unsigned_discharges": []}
    clients = discharge.unsigned_discharges(therapist, limit=SUMMARIES_SHOWN)
    summary_url = urls_of("therapist:discharge")
    for client in clients:
        client.summary_url = summary_url(client.pk)
    if clients:
        record(
            Action.VIEW,
            target=Client,
            clients=[client.pk for client in clients[:SUMMARIES_SHOWN]],
            detail="discharge summaries to sign",
        )
    return {
        "unsigned_discharges": clients[:SUMMARIES_SHOWN],
        "more_unsigned_discharges": len(clients) > SUMMARIES_SHOWN,
    }
