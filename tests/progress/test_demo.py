import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from groups.models import Therapist
from progress.models import Attendance, GroupNote
from progress.selectors import groups_for_therapist, participation_balance, week_sessions

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_the_demo_therapist_history_to_work_with():
    call_command("seed_demo", stdout=io.StringIO())
    therapist = Therapist.objects.get(user__username="therapist")
    counts = (Attendance.objects.count(), GroupNote.objects.count(), GroupNote.objects.signed().count())

    call_command("seed_demo", stdout=io.StringIO())

    assert (Attendance.objects.count(), GroupNote.objects.count(), GroupNote.objects.signed().count()) == counts
    assert counts[2] >= 3
    assert GroupNote.objects.unsigned().count() >= 1
    assert any(s.day == timezone.localdate() and not s.is_cancelled for s in week_sessions(therapist))
    flagged = [participation_balance(group)[1] for group in groups_for_therapist(therapist)]
    rows = [row for group_rows in flagged for row in group_rows]
    assert any(row.likely_dominant for row in rows)
    assert any(row.likely_reluctant for row in rows)


def test_seed_demo_gives_the_demo_client_eight_weeks_of_check_ins_and_questionnaires_idempotently():
    from clients.models import Client
    from progress import checkins, safety
    from progress.measures import Category
    from progress.models import CheckIn, MeasureResponse

    call_command("seed_demo", stdout=io.StringIO())
    counts = (CheckIn.objects.count(), MeasureResponse.objects.count(), safety.open_alerts().count())
    call_command("seed_demo", stdout=io.StringIO())

    assert (CheckIn.objects.count(), MeasureResponse.objects.count(), safety.open_alerts().count()) == counts
    demo_client = Client.objects.get(portal_user__username="client")
    assert CheckIn.objects.filter(client=demo_client).count() == 8
    phq9, gad7 = checkins.measures_for_client(demo_client)["phq9"], checkins.measures_for_client(demo_client)["gad7"]
    assert phq9[-1].category == Category.RELIABLE_IMPROVEMENT
    assert gad7[-1].category == Category.RELIABLE_IMPROVEMENT
    therapist = Therapist.objects.get(user__username="therapist")
    assert safety.open_alerts_for_therapist(therapist).count() == 1
    off_track, _ = checkins.not_on_track_clients(therapist)
    assert [row.client.chart_number for row in off_track] == ["IOP-1016"]


def test_seed_demo_gives_the_demo_client_a_treatment_plan_with_goals_linked_from_notes_idempotently(today):
    from clients.models import Client
    from progress.demo import OVERDUE_PLAN_CHART
    from progress.models import Goal, GoalStatusChange, NoteGoal, PlanReview, TreatmentPlan
    from progress.selectors import overdue_plan_reviews

    call_command("seed_demo", stdout=io.StringIO())
    counts = [model.objects.count() for model in (TreatmentPlan, Goal, GoalStatusChange, PlanReview, NoteGoal)]
    call_command("seed_demo", stdout=io.StringIO())

    assert [model.objects.count() for model in (TreatmentPlan, Goal, GoalStatusChange, PlanReview, NoteGoal)] == counts
    plan = TreatmentPlan.objects.get(client__chart_number="IOP-1001")
    assert sorted(plan.goals.values_list("status", flat=True)) == ["active", "met", "revised"]
    assert GoalStatusChange.objects.filter(goal__plan=plan).count() == 5  # three added, two changed
    assert plan.reviews.count() == 1
    assert NoteGoal.objects.filter(goal__plan=plan, individual_note__client=plan.client).exists()
    therapist = Therapist.objects.get(user__username="therapist")
    overdue = Client.objects.get(chart_number=OVERDUE_PLAN_CHART)
    assert [p.client_id for p in overdue_plan_reviews(therapist, today=today)] == [overdue.pk]


def test_seed_demo_discharges_two_clients_one_summary_signed_one_draft_idempotently():
    from progress.demo import DRAFT_DISCHARGE_CHART, SIGNED_DISCHARGE_CHART
    from progress.discharge import unsigned_discharges
    from progress.models import DischargeSummary

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=io.StringIO())

    assert DischargeSummary.objects.count() == 2, out.getvalue()
    signed = DischargeSummary.objects.get(client__chart_number=SIGNED_DISCHARGE_CHART)
    assert signed.is_signed
    assert signed.facts["sessions_attended"] > 0
    assert not DischargeSummary.objects.get(client__chart_number=DRAFT_DISCHARGE_CHART).is_signed
    therapist = Therapist.objects.get(user__username="therapist")
    assert [c.chart_number for c in unsigned_discharges(therapist, limit=10)] == [DRAFT_DISCHARGE_CHART]
