"""The dashboard's three lists of clients, drawn in Python (``progress/templatetags``): the markup
their included templates drew, every value a person wrote escaped, and the sentence that says
there are more than shown."""

import datetime

from django.conf import settings
from django.urls import reverse

from progress import plans
from progress.templatetags import progress_discharge, progress_plans
from scheduling.enrolment import discharge_client
from tests.factories import MeasureResponseFactory

WRITTEN = "Jo <b>&</b>"
ESCAPED = "Jo &lt;b&gt;&amp;&lt;/b&gt;"


def _named(client, name=WRITTEN):
    client.preferred_name = name
    client.save(update_fields=["preferred_name"])
    return client


def _day(day: datetime.date) -> str:
    return f"{day:%a %b} {day.day}"


def test_a_client_not_on_track_is_drawn_escaped(facilitator_client, members, now):
    worse = _named(members[0])
    MeasureResponseFactory(client=worse, total=8, taken_on=now - datetime.timedelta(weeks=6))
    MeasureResponseFactory(client=worse, total=14, taken_on=now - datetime.timedelta(days=2))

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    assert (
        '<ul class="list-group">\n    \n      <li class="list-group-item list-group-item-warning">\n'
        f'        <strong><a href="{reverse("therapist:progress", args=[worse.pk])}">{ESCAPED} {worse.legal_last_name}'
        f"</a></strong> ({worse.chart_number}) — PHQ-9 8 → 14: reliable deterioration\n      </li>\n    \n  </ul>\n"
        "  \n</section>"
    ) in page
    assert WRITTEN not in page


def test_plans_overdue_are_drawn_escaped_and_say_there_are_more(
    facilitator_client, members, therapist, today, monkeypatch
):
    monkeypatch.setattr(progress_plans, "REVIEWS_SHOWN", 1)
    oldest = plans.start_plan(
        client=_named(members[0]), by=therapist.user, started_on=today - datetime.timedelta(days=90)
    )
    plans.start_plan(client=members[1], by=therapist.user, started_on=today - datetime.timedelta(days=80))

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    name = f"{ESCAPED} {members[0].legal_last_name}"
    due = oldest.last_reviewed_on + datetime.timedelta(days=settings.IOP_PLAN_REVIEW_DAYS)
    assert (
        '<div class="list-group-item list-group-item-warning">\n'
        f'        <a href="{reverse("therapist:plan", args=[members[0].pk])}">{name} ({members[0].chart_number})'
        f" — review was due {_day(due)}</a>\n"
        f'        · <a class="small" href="{reverse("therapist:progress", args=[members[0].pk])}">progress'
        f'<span class="visually-hidden"> of {name}</span></a>\n      </div>\n    \n  </div>\n'
        '  <p class="small mt-1 mb-0">More plans are overdue than shown here; the oldest come first.</p>\n</section>'
    ) in page
    assert members[1].display_name not in page


def test_summaries_to_sign_are_drawn_escaped_and_say_there_are_more(facilitator_client, members, today, monkeypatch):
    monkeypatch.setattr(progress_discharge, "SUMMARIES_SHOWN", 1)
    first = discharge_client(client=_named(members[0]), on=today - datetime.timedelta(days=1))
    discharge_client(client=members[1], on=today)

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    assert (
        '<div class="list-group-item list-group-item-warning">\n'
        f'        <a href="{reverse("therapist:discharge", args=[first.pk])}">{ESCAPED} {first.legal_last_name}'
        f" ({first.chart_number}) — discharged {_day(first.discharge_date)}</a>\n      </div>\n    \n  </div>\n"
        '  <p class="small mt-1 mb-0">More discharge summaries are waiting than shown here; the oldest discharges'
        " come first.</p>\n</section>"
    ) in page
    assert members[1].display_name not in page
