"""The dashboard's list of discharged clients whose discharge summary is not signed yet: a tag, so
the dashboard's view stays as it is and the list costs one bounded query (and one audit row when
it names a client). It is drawn here rather than through an included template, as the session
cards are (``progress_cards``)."""

from django import template
from django.utils.safestring import SafeString

from audit.trail import Action, record
from clients.models import Client
from iop.html import escaped
from iop.i18n import formatted
from iop.links import urls_of
from progress import discharge
from progress.templatetags.progress_cards import NOTHING_LISTED, dashboard_list

register = template.Library()

# The dashboard lists at most this many, the longest waiting first; more say there are more.
SUMMARIES_SHOWN = 10


@register.simple_tag(takes_context=True)
def discharge_summaries_due(context) -> SafeString:
    """Each client whose summary waits, a link to it, with the day of the discharge."""
    therapist = context.get("therapist")
    if therapist is None:
        return NOTHING_LISTED
    clients = discharge.unsigned_discharges(therapist, limit=SUMMARIES_SHOWN)
    if not clients:
        return NOTHING_LISTED
    shown = clients[:SUMMARIES_SHOWN]
    record(
        Action.VIEW,
        target=Client,
        clients=[client.pk for client in shown],
        detail="discharge summaries to sign",
    )
    summary_url = urls_of("therapist:discharge")
    # Every value a person wrote (the client's names and chart number) is escaped.
    rows = "".join(
        '\n      <div class="list-group-item list-group-item-warning">\n'
        f'        <a href="{summary_url(client.pk)}">{escaped(client.display_name)} ({escaped(client.chart_number)})'
        f" — discharged {escaped(formatted(client.discharge_date, 'D M j'))}</a>\n"
        "      </div>\n    "
        for client in shown
    )
    return dashboard_list(
        testid="discharge-summaries-due",
        title="Discharge summaries to sign",
        rows=rows,
        more=MORE_SUMMARIES if len(clients) > SUMMARIES_SHOWN else "",
    )


MORE_SUMMARIES = (
    '<p class="small mt-1 mb-0">More discharge summaries are waiting than shown here; the oldest discharges come'
    " first.</p>"
)
