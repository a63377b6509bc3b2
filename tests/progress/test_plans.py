"""Treatment plans and goals: the database's rules, the services (history, reviews and when one is
due, on a day each test names), the golden thread from a note to the goals it served, and the
therapist's pages."""

import datetime

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from audit.models import AuditEvent
from groups.models import Membership
from progress import notes, plans
from progress.models import (
    Goal,
    GoalStatusChange,
    IndividualNote,
    NoteGoal,
    PlanReview,
    SignedNoteLocked,
    TreatmentPlan,
)
from progress.selectors import goals_of, overdue_plan_reviews, plan_of
from scheduling.enrolment import end_membership
from tests.factories import PASSWORD, ClientFactory, GoalFactory, TreatmentPlanFactory, UserFactory
from tests.helpers import make_session, note_post, record_everyone_present, write_note

pytestmark = pytest.mark.django_db

GOAL = {
    "problem": "I drink when I can't sleep.",
    "goal": "Sleep without drinking.",
    "objectives": "Wind-down routine 5 of 7 nights.\n\n  No drinks after 8 pm for 4 weeks.  ",
}


@pytest.fixture
def member(members):
    return members[0]


@pytest.fixture
def plan(member, therapist, today):
    return plans.start_plan(client=member, by=therapist.user, started_on=today - datetime.timedelta(days=10))


@pytest.fixture
def goal(plan, therapist, today):
    return plans.add_goal(plan=plan, by=therapist.user, target_date=today + datetime.timedelta(days=30), **GOAL)


def counts():
    return [model.objects.count() for model in (TreatmentPlan, Goal, GoalStatusChange, PlanReview, NoteGoal)]


# --- The database -----------------------------------------------------------------------------


def test_a_client_has_one_plan(plan, therapist):
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentPlanFactory(client=plan.client, created_by=therapist.user)


def test_a_plan_is_not_reviewed_before_it_starts(member, therapist, today):
    with pytest.raises(IntegrityError), transaction.atomic():
        TreatmentPlanFactory(client=member, started_on=today, last_reviewed_on=today - datetime.timedelta(days=1))


@pytest.mark.parametrize(
    "change", [{"status": "done"}, {"problem": ""}, {"goal": ""}, {"objectives": ""}], ids=lambda c: next(iter(c))
)
def test_a_goal_has_a_known_status_and_all_its_words(goal, change):
    with pytest.raises(IntegrityError), transaction.atomic():
        Goal.objects.filter(pk=goal.pk).update(**change)


def test_a_status_change_changes_the_status(goal, therapist, now):
    with pytest.raises(IntegrityError), transaction.atomic():
        GoalStatusChange.objects.create(
            goal=goal, from_status="met", to_status="met", changed_at=now, changed_by=therapist.user
        )


def test_a_review_has_its_summary(plan, therapist, today):
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanReview.objects.create(plan=plan, reviewed_on=today, reviewed_by=therapist.user, summary="")


# --- Services -------------------------------------------------------------------------------


@pytest.mark.now("2026-03-10T10:00")
def test_starting_a_plan_sets_its_first_review_due_from_its_start(member, therapist, settings):
    settings.IOP_PLAN_REVIEW_DAYS = 30
    plan = plans.start_plan(client=member, by=therapist.user)

    assert plan.started_on == plan.last_reviewed_on == datetime.date(2026, 3, 10)
    assert AuditEvent.objects.filter(model="progress.treatmentplan", action="create", client_id=member.pk).exists()


def test_a_second_plan_is_refused(plan, therapist):
    with pytest.raises(ValidationError, match="already has a treatment plan"):
        plans.start_plan(client=plan.client, by=therapist.user)


def test_a_plan_starts_today_or_earlier(member, therapist, today):
    with pytest.raises(ValidationError) as refused:
        plans.start_plan(client=member, by=therapist.user, started_on=today + datetime.timedelta(days=1))

    assert "started_on" in refused.value.message_dict
    assert not TreatmentPlan.objects.exists()


def test_a_goal_starts_active_with_its_first_history_row(goal, therapist):
    history = list(goal.status_changes.all())

    assert goal.status == "active"
    assert goal.objectives == "Wind-down routine 5 of 7 nights.\nNo drinks after 8 pm for 4 weeks."
    assert [(h.from_status, h.to_status, h.changed_by) for h in history] == [("", "active", therapist.user)]


def test_a_goal_targets_a_day_on_or_after_the_plans_start(plan, therapist):
    before = counts()

    with pytest.raises(ValidationError) as refused:
        plans.add_goal(plan=plan, by=therapist.user, target_date=plan.started_on - datetime.timedelta(days=1), **GOAL)

    assert "target_date" in refused.value.message_dict
    assert counts() == before


def test_every_status_change_is_kept_with_who_when_and_why(goal, therapist, clock, now):
    plans.change_goal_status(goal=goal, by=therapist.user, to_status="revised", note="Rewritten around the commute.")
    clock.shift(datetime.timedelta(days=3))
    plans.change_goal_status(goal=goal, by=therapist.user, to_status="active", note="Back as it was.")

    goal.refresh_from_db()
    history = [(h.from_status, h.to_status, h.note) for h in goal.status_changes.all()]
    assert goal.status == "active"
    assert history == [
        ("", "active", ""),
        ("active", "revised", "Rewritten around the commute."),
        ("revised", "active", "Back as it was."),
    ]
    assert goal.status_changes.last().changed_at >= now + datetime.timedelta(days=3)
    assert AuditEvent.objects.filter(model="progress.goal", action="change", client_id=goal.plan.client_id).count() == 2


@pytest.mark.parametrize(("to_status", "note", "field"), [("active", "Same.", "to_status"), ("met", " ", "note")])
def test_a_status_change_needs_a_new_status_and_a_reason(goal, therapist, to_status, note, field):
    before = counts()

    with pytest.raises(ValidationError) as refused:
        plans.change_goal_status(goal=goal, by=therapist.user, to_status=to_status, note=note)

    assert field in refused.value.message_dict
    assert counts() == before


def test_a_goal_no_longer_active_is_not_edited(goal, therapist, today):
    plans.change_goal_status(goal=goal, by=therapist.user, to_status="met", note="Reached.")

    with pytest.raises(ValidationError, match="mark it revised"):
        plans.edit_goal(
            goal=goal,
            by=therapist.user,
            problem="x",
            goal_text="y",
            objectives="z",
            target_date=today,
        )


def test_only_a_therapist_of_the_clients_current_groups_writes_the_plan(plan, goal, other_therapist, today):
    with pytest.raises(ValidationError, match="current groups"):
        plans.record_review(plan=plan, by=other_therapist.user, summary="Fine.")
    with pytest.raises(ValidationError, match="current groups"):
        plans.change_goal_status(goal=goal, by=other_therapist.user, to_status="met", note="Reached.")


@pytest.mark.now("2026-05-20T09:00")
def test_a_review_is_overdue_thirty_days_after_the_last_one(member, therapist, group, settings):
    """Wednesday 20 May 2026: the plan started on 10 April, 40 days ago."""
    settings.IOP_PLAN_REVIEW_DAYS = 30
    plan = plans.start_plan(client=member, by=therapist.user, started_on=datetime.date(2026, 4, 10))
    today = datetime.date(2026, 5, 20)

    assert list(overdue_plan_reviews(therapist, today=today)) == [plan]

    plans.record_review(plan=plan, by=therapist.user, summary="Progress on both goals.", reviewed_on=today)
    plan.refresh_from_db()

    assert plan.last_reviewed_on == today
    assert list(overdue_plan_reviews(therapist, today=today)) == []
    # Due again on 19 June; overdue from 20 June.
    assert list(overdue_plan_reviews(therapist, today=datetime.date(2026, 6, 19))) == []
    assert list(overdue_plan_reviews(therapist, today=datetime.date(2026, 6, 20))) == [plan]


@pytest.mark.now("2026-05-20T09:00")
def test_the_review_cadence_is_a_setting(member, therapist, settings):
    settings.IOP_PLAN_REVIEW_DAYS = 7
    plans.start_plan(client=member, by=therapist.user, started_on=datetime.date(2026, 5, 12))

    assert len(overdue_plan_reviews(therapist, today=datetime.date(2026, 5, 20))) == 1


def test_an_earlier_review_entered_late_does_not_move_the_last_review_back(plan, therapist, today):
    plans.record_review(plan=plan, by=therapist.user, summary="Today's review.", reviewed_on=today)
    plans.record_review(
        plan=plan,
        by=therapist.user,
        summary="Last week's, entered late.",
        reviewed_on=today - datetime.timedelta(days=7),
    )

    plan.refresh_from_db()
    assert plan.last_reviewed_on == today


@pytest.mark.parametrize(
    ("days", "summary", "field"),
    [(1, "Ahead.", "reviewed_on"), (-30, "Before the start.", "reviewed_on"), (0, "   ", "summary")],
)
def test_a_review_is_on_a_day_of_the_plan_and_says_something(plan, therapist, today, days, summary, field):
    before = counts()

    with pytest.raises(ValidationError) as refused:
        plans.record_review(
            plan=plan, by=therapist.user, summary=summary, reviewed_on=today + datetime.timedelta(days=days)
        )

    assert field in refused.value.message_dict
    assert counts() == before


def test_the_overdue_list_holds_only_the_therapists_current_clients(
    plan, member, group, therapist, other_therapist, today, settings
):
    settings.IOP_PLAN_REVIEW_DAYS = 5

    assert list(overdue_plan_reviews(other_therapist, today=today)) == []
    assert list(overdue_plan_reviews(therapist, today=today)) == [plan]

    end_membership(membership=Membership.objects.get(client=member, group=group), reason="completed", on=today)
    assert list(overdue_plan_reviews(therapist, today=today)) == []


def test_the_plan_selector_reads_goals_history_and_reviews_in_four_queries(
    goal, plan, therapist, django_assert_num_queries
):
    plans.change_goal_status(goal=goal, by=therapist.user, to_status="met", note="Reached.")
    plans.record_review(plan=plan, by=therapist.user, summary="Reviewed.")

    with django_assert_num_queries(4):
        read = plan_of(plan.client)
        history = [(g.status, [c.to_status for c in g.status_changes.all()]) for g in read.goals.all()]
        reviews = [r.reviewed_by.username for r in read.reviews.all()]

    assert history == [("met", ["active", "met"])]
    assert reviews == [therapist.user.username]


def test_a_clients_goals_with_their_plan_and_history_are_two_queries(goal, plan, therapist, django_assert_num_queries):
    plans.change_goal_status(goal=goal, by=therapist.user, to_status="partly_met", note="Half the nights.")

    with django_assert_num_queries(2):
        read = goals_of(plan.client)
        rows = [(g.plan.started_on, g.status, [c.changed_by.username for c in g.status_changes.all()]) for g in read]

    assert rows == [(plan.started_on, "partly_met", [therapist.user.username] * 2)]


# --- The golden thread ------------------------------------------------------------------------


@pytest.fixture
def attended(session, members, therapist):
    record_everyone_present(session, members, by=therapist.user)
    return session


def test_a_note_links_the_goals_its_member_part_addressed(attended, members, member, goal, therapist):
    note = write_note(attended, members, by=therapist.user)
    individual = {m.pk: {"behaviour": "Shared a trigger."} for m in members}
    individual[member.pk]["goals"] = [goal.pk]

    notes.save_group_note(
        session=attended,
        author=therapist.user,
        individual=individual,
        **{f: getattr(note, f) for f in notes.SHARED_FIELDS},
    )

    part = IndividualNote.objects.get(group_note=note, client=member)
    assert list(part.goals.all()) == [goal]


def test_a_note_refuses_another_clients_goal(attended, members, therapist, other_therapist):
    stranger_goal = GoalFactory(plan=TreatmentPlanFactory(client=ClientFactory()))
    individual = {m.pk: {"behaviour": "Shared a trigger."} for m in members}
    individual[members[0].pk]["goals"] = [stranger_goal.pk]
    before = counts(), IndividualNote.objects.count()

    with pytest.raises(ValidationError) as refused:
        notes.save_group_note(
            session=attended,
            author=therapist.user,
            individual=individual,
            topic="Triggers",
            objective="Identify triggers",
            interventions="Psychoeducation.",
            group_dynamics="Cohesive.",
        )

    assert "own treatment goals" in " ".join(refused.value.message_dict["goals"])
    assert (counts(), IndividualNote.objects.count()) == before


def test_a_note_page_post_with_another_members_goal_is_a_field_error(
    facilitator_client, attended, members, member, goal
):
    other_member = members[1]
    rows = {m.pk: i for i, m in enumerate(members)}
    before = counts(), IndividualNote.objects.count()

    response = facilitator_client.post(
        reverse("therapist:note", args=[attended.pk]),
        note_post(members, **{f"form-{rows[other_member.pk]}-goals": [str(goal.pk)]}),
    )

    assert response.status_code == 200
    form = response.context["individual_formset"].forms[rows[other_member.pk]]
    assert "goals" in form.errors
    assert (counts(), IndividualNote.objects.count()) == before


def test_the_note_page_offers_each_member_their_active_goals_and_shows_them_once_signed(
    facilitator_client, attended, members, member, goal, therapist
):
    met = plans.add_goal(plan=goal.plan, by=therapist.user, target_date=goal.target_date, **GOAL)
    plans.change_goal_status(goal=met, by=therapist.user, to_status="met", note="Reached.")
    url = reverse("therapist:note", args=[attended.pk])
    rows = {m.pk: i for i, m in enumerate(members)}

    page = facilitator_client.get(url)
    offered = page.context["individual_formset"].forms[rows[member.pk]].goal_options
    assert offered == [goal]

    response = facilitator_client.post(url, note_post(members, **{f"form-{rows[member.pk]}-goals": [str(goal.pk)]}))
    assert response.status_code == 302
    note = IndividualNote.objects.get(client=member).group_note
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)

    signed_page = facilitator_client.get(url).content.decode()
    assert "Goals addressed" in signed_page
    assert goal.short in signed_page


def test_the_note_page_links_the_plan_of_a_member_with_no_active_goal(facilitator_client, attended, members):
    page = facilitator_client.get(reverse("therapist:note", args=[attended.pk])).content.decode()

    for member in members:
        plan = reverse("therapist:plan", args=[member.pk])
        assert f'treatment plan — <a href="{plan}">open the plan</a>.' in page


def test_a_goal_met_since_the_unsigned_note_addressed_it_stays_offered_and_ticked(
    facilitator_client, attended, members, member, goal, therapist
):
    url = reverse("therapist:note", args=[attended.pk])
    rows = {m.pk: i for i, m in enumerate(members)}
    facilitator_client.post(url, note_post(members, **{f"form-{rows[member.pk]}-goals": [str(goal.pk)]}))
    plans.change_goal_status(goal=goal, by=therapist.user, to_status="met", note="Reached.")

    form = facilitator_client.get(url).context["individual_formset"].forms[rows[member.pk]]

    assert form.goal_options == [goal]
    assert [(offered, ticked) for _, offered, ticked in form.goal_boxes()] == [(goal, True)]


def test_a_signed_notes_goals_are_locked(attended, members, member, goal, therapist, other_therapist):
    note = write_note(attended, members, by=therapist.user)
    part = note.individual_notes.get(client=member)
    part.goals.add(goal)
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)
    second = plans.add_goal(plan=goal.plan, by=therapist.user, target_date=goal.target_date, **GOAL)

    with pytest.raises(SignedNoteLocked), transaction.atomic():
        part.goals.add(second)
    with pytest.raises(SignedNoteLocked), transaction.atomic():
        part.goals.remove(goal)
    with pytest.raises(SignedNoteLocked), transaction.atomic():
        NoteGoal.objects.get(individual_note=part).delete()
    with pytest.raises(SignedNoteLocked), transaction.atomic():
        NoteGoal.objects.filter(individual_note=part).delete()
    assert list(part.goals.all()) == [goal]


# --- The therapist's pages --------------------------------------------------------------------


def test_the_plan_page_shows_goals_history_and_reviews_and_records_the_read(facilitator_client, goal, plan, therapist):
    plans.change_goal_status(goal=goal, by=therapist.user, to_status="partly_met", note="Sleeping 4 of 7 nights.")
    plans.record_review(plan=plan, by=therapist.user, summary="Half-way there.")

    page = facilitator_client.get(reverse("therapist:plan", args=[plan.client_id])).content.decode()

    assert "Sleep without drinking." in page
    assert "Partly met" in page
    assert "Sleeping 4 of 7 nights." in page
    assert "Half-way there." in page
    assert AuditEvent.objects.filter(detail="treatment plan page", client_id=plan.client_id).exists()


def test_a_therapist_starts_a_plan_adds_a_goal_changes_its_status_and_reviews(facilitator_client, member, today):
    plan_url = reverse("therapist:plan", args=[member.pk])

    response = facilitator_client.post(
        reverse("therapist:plan_start", args=[member.pk]), {"started_on": today.isoformat()}
    )
    assert response.status_code == 302 and response.url == plan_url
    response = facilitator_client.post(
        reverse("therapist:plan_goal_add", args=[member.pk]),
        {**GOAL, "target_date": (today + datetime.timedelta(days=45)).isoformat()},
    )
    assert response.status_code == 302
    goal = Goal.objects.get(plan__client=member)
    response = facilitator_client.post(
        reverse("therapist:goal_status", args=[goal.pk]), {"to_status": "met", "note": "Reached."}
    )
    assert response.status_code == 302
    response = facilitator_client.post(
        reverse("therapist:plan_review", args=[member.pk]), {"reviewed_on": today.isoformat(), "summary": "Goal met."}
    )
    assert response.status_code == 302

    goal.refresh_from_db()
    assert goal.status == "met"
    assert PlanReview.objects.get(plan__client=member).summary == "Goal met."


@pytest.mark.parametrize(
    ("url_name", "data", "field"),
    [
        ("therapist:plan_goal_add", {**GOAL, "target_date": "not a date"}, "target_date"),
        ("therapist:plan_goal_add", {**GOAL, "problem": "", "target_date": "2026-01-01"}, "problem"),
        ("therapist:plan_goal_add", {**GOAL, "target_date": "1999-01-01"}, "target_date"),
        ("therapist:plan_review", {"reviewed_on": "2999-01-01", "summary": "Ahead."}, "reviewed_on"),
        ("therapist:plan_review", {"reviewed_on": "", "summary": ""}, "summary"),
    ],
)
def test_bad_input_on_the_plan_page_is_a_field_error_and_saves_nothing(facilitator_client, plan, url_name, data, field):
    before = counts()

    response = facilitator_client.post(reverse(url_name, args=[plan.client_id]), data)

    assert response.status_code == 200
    forms = [response.context[name] for name in ("goal_form", "review_form")]
    assert any(field in form.errors for form in forms)
    assert counts() == before


@pytest.mark.parametrize(
    "data", [{"to_status": "finished", "note": "x"}, {"to_status": "active", "note": "x"}, {"to_status": "met"}]
)
def test_a_bad_status_change_is_a_field_error_and_saves_nothing(facilitator_client, goal, data):
    before = counts()

    response = facilitator_client.post(reverse("therapist:goal_status", args=[goal.pk]), data)

    assert response.status_code == 200
    assert dict(response.context["goals"])[goal].errors
    assert counts() == before


def test_a_goal_is_edited_while_active(facilitator_client, goal, today):
    response = facilitator_client.post(
        reverse("therapist:goal", args=[goal.pk]),
        {**GOAL, "goal": "Sleep through without alcohol.", "target_date": goal.target_date.isoformat()},
    )

    goal.refresh_from_db()
    assert response.status_code == 302
    assert goal.goal == "Sleep through without alcohol."


def test_the_dashboard_lists_plans_overdue_for_review_with_links(facilitator_client, plan, settings):
    settings.IOP_PLAN_REVIEW_DAYS = 5

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    assert "Treatment plans overdue for review" in page
    assert f'href="{reverse("therapist:plan", args=[plan.client_id])}"' in page
    assert f'href="{reverse("therapist:progress", args=[plan.client_id])}"' in page


def test_the_dashboard_lists_no_plan_whose_review_is_not_due(facilitator_client, plan, settings):
    settings.IOP_PLAN_REVIEW_DAYS = 30

    assert "overdue for review" not in facilitator_client.get(reverse("therapist:dashboard")).content.decode()


def test_a_past_therapist_reads_the_plan_but_does_not_write_it(client, plan, goal, member, group, therapist, today):
    end_membership(membership=Membership.objects.get(client=member, group=group), reason="completed", on=today)
    client.force_login(therapist.user)

    page = client.get(reverse("therapist:plan", args=[member.pk]))
    assert page.status_code == 200
    assert not page.context["can_write"]
    before = counts()
    assert client.post(reverse("therapist:plan_review", args=[member.pk]), {"summary": "x"}).status_code == 404
    assert (
        client.post(reverse("therapist:goal_status", args=[goal.pk]), {"to_status": "met", "note": "x"}).status_code
        == 404
    )
    assert counts() == before


# --- Access: every plan URL, every role ---------------------------------------------------------

# (url name, method, takes the client or the goal, status for the client's therapist)
PLAN_URLS = [
    ("therapist:plan", "get", "client", 200),
    ("therapist:plan_start", "post", "client", 302),
    ("therapist:plan_goal_add", "post", "client", 200),
    ("therapist:plan_review", "post", "client", 200),
    ("therapist:goal", "get", "goal", 200),
    ("therapist:goal", "post", "goal", 200),
    ("therapist:goal_status", "post", "goal", 200),
]


def plan_url(name, kind, goal):
    return reverse(name, args=[goal.plan.client_id if kind == "client" else goal.pk])


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), PLAN_URLS)
def test_the_clients_therapist_gets_in(facilitator_client, goal, name, method, kind, allowed):
    assert getattr(facilitator_client, method)(plan_url(name, kind, goal)).status_code == allowed


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), PLAN_URLS)
def test_the_co_facilitator_gets_in(client, group, other_therapist, goal, name, method, kind, allowed):
    group.co_facilitator = other_therapist
    group.save(update_fields=["co_facilitator"])
    client.force_login(other_therapist.user)

    assert getattr(client, method)(plan_url(name, kind, goal)).status_code == allowed


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), PLAN_URLS)
def test_a_substitute_of_one_meeting_gets_404(client, group, substitute, goal, name, method, kind, allowed):
    make_session(group, facilitator=substitute)
    client.force_login(substitute.user)

    assert getattr(client, method)(plan_url(name, kind, goal)).status_code == 404


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), PLAN_URLS)
def test_another_therapist_gets_404(client, other_therapist, goal, name, method, kind, allowed):
    client.force_login(other_therapist.user)

    assert getattr(client, method)(plan_url(name, kind, goal)).status_code == 404


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), PLAN_URLS)
def test_the_client_gets_404(client, goal, name, method, kind, allowed):
    portal = UserFactory(username="plan-client")
    goal.plan.client.portal_user = portal
    goal.plan.client.save(update_fields=["portal_user"])
    client.force_login(portal)

    assert getattr(client, method)(plan_url(name, kind, goal)).status_code == 404


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), PLAN_URLS)
def test_staff_get_404(staff_client, goal, name, method, kind, allowed):
    assert getattr(staff_client, method)(plan_url(name, kind, goal)).status_code == 404


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), PLAN_URLS)
def test_anonymous_is_sent_to_login(client, goal, name, method, kind, allowed):
    response = getattr(client, method)(plan_url(name, kind, goal))

    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL))


@pytest.mark.parametrize("name", ["therapist:plan", "therapist:goal"])
def test_a_missing_id_is_404_like_someone_elses(facilitator_client, name):
    assert facilitator_client.get(reverse(name, args=[987654])).status_code == 404


# --- The staff admin --------------------------------------------------------------------------


@pytest.fixture
def supervisor(db):
    from django.contrib.auth.models import Group

    from iop.permissions import CLINIC_STAFF, CLINICAL_SUPERVISOR

    user = UserFactory(username="clinical-supervisor", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=[CLINIC_STAFF, CLINICAL_SUPERVISOR]))
    return user


def test_staff_see_a_plans_status_and_overdue_review_but_not_its_words(staff_client, plan, goal, therapist, settings):
    settings.IOP_PLAN_REVIEW_DAYS = 5
    plans.record_review(plan=plan, by=therapist.user, summary="Half-way there.", reviewed_on=plan.started_on)

    listed = staff_client.get(reverse("admin:progress_treatmentplan_changelist") + "?review=overdue")
    page = staff_client.get(reverse("admin:progress_treatmentplan_change", args=[plan.pk])).content.decode()

    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [plan]
    assert "Overdue by" in listed.content.decode()
    assert "Active" in page and plan.client.chart_number in page
    for words in ("Sleep without drinking", "drink when I can", "Wind-down routine", "Half-way there."):
        assert words not in page
    assert AuditEvent.objects.filter(
        model="progress.treatmentplan", client_id=plan.client_id, detail="plan text withheld"
    ).exists()


def test_supervisors_read_the_plans_words_and_a_notes_goals_addressed(
    client, supervisor, attended, members, member, goal, therapist
):
    note = write_note(attended, members, by=therapist.user)
    note.individual_notes.get(client=member).goals.add(goal)
    client.force_login(supervisor)

    plan_page = client.get(reverse("admin:progress_treatmentplan_change", args=[goal.plan_id])).content.decode()
    note_page = client.get(reverse("admin:progress_groupnote_change", args=[note.pk])).content.decode()

    assert "Sleep without drinking" in plan_page
    assert "Goals addressed" in note_page and "Sleep without drinking" in note_page


def test_the_review_filter_splits_overdue_due_soon_and_not_due(staff_client, plan, settings):
    settings.IOP_PLAN_REVIEW_DAYS = 15  # the plan started 10 days ago: due in 5 days
    url = reverse("admin:progress_treatmentplan_changelist")

    found = {
        choice: list(staff_client.get(f"{url}?review={choice}").context["cl"].result_list)
        for choice in ("overdue", "due", "current")
    }

    assert found == {"overdue": [], "due": [plan], "current": []}
