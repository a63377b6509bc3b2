"""Treatment plans: a client's plan, its goals and their status history, and its reviews.

The therapists who lead or co-lead a group the client is a member of now write and review the
plan (``selectors.may_write_plan``); the therapist pages, the admin's readers, seed_demo and the
tests all call these functions. Every write leaves one audit row naming the client; what the
plan says stays out of the trail."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients.models import Client
from groups.models import TherapyGroup
from progress.models import Goal, GoalStatusChange, PlanReview, TreatmentPlan
from progress.selectors import may_write_plan

NOT_THEIR_PLAN = "Only a therapist of the client's current groups writes or reviews their treatment plan."
GOAL_TEXT_FIELDS = ("problem", "goal", "objectives")


def _check_writer(user: AbstractBaseUser, client: Client) -> None:
    if not may_write_plan(user, client):
        raise ValidationError(NOT_THEIR_PLAN)


# --- Starting a plan ------------------------------------------------------------------------


def start_refusals(*, client: Client, started_on: datetime.date | None, today: datetime.date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if TreatmentPlan.objects.filter(client=client).exists():
        errors[None] = ["This client already has a treatment plan; add goals or review it."]
    if started_on is None:
        errors["started_on"] = ["Say when the plan starts."]
    elif started_on > today:
        errors["started_on"] = ["A plan starts today or earlier."]
    elif client.admission_date and started_on < client.admission_date:
        errors["started_on"] = [f"The plan starts on or after admission ({client.admission_date:%Y-%m-%d})."]
    return errors


@transaction.atomic
def start_plan(*, client: Client, by: AbstractBaseUser, started_on: datetime.date | None = None) -> TreatmentPlan:
    """The client's treatment plan, starting ``started_on`` (today by default), not reviewed yet."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    # Lock the client: two therapists starting the plan at once must not both find none (the
    # unique client would refuse the second with an IntegrityError instead of a message).
    client = Client.objects.select_for_update().get(pk=client.pk)
    _check_writer(by, client)
    today = timezone.localdate()
    started_on = started_on or today
    errors = start_refusals(client=client, started_on=started_on, today=today)
    if errors:
        raise ValidationError(errors)
    plan = TreatmentPlan.objects.create(
        client=client, started_on=started_on, last_reviewed_on=started_on, created_by=by
    )
    record(Action.CREATE, target=plan, clients=[client.pk], detail="treatment plan started")
    return plan


@transaction.atomic
def set_recommended_group_kinds(
    *, plan: TreatmentPlan, by: AbstractBaseUser, kinds: list[str] | tuple[str, ...]
) -> TreatmentPlan:
    """The kinds of group the plan calls for (the group finder ranks them first)."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    plan = TreatmentPlan.objects.select_related("client").select_for_update(of=("self",)).get(pk=plan.pk)
    _check_writer(by, plan.client)
    if not all(kind in TherapyGroup.Kind.values for kind in kinds):
        raise ValidationError({"kinds": ["Choose group kinds from the list."]})
    # Kept in the list's order, each once.
    plan.recommended_group_kinds = [kind for kind in TherapyGroup.Kind.values if kind in kinds]
    plan.save(update_fields=["recommended_group_kinds"])
    record(Action.CHANGE, target=plan, clients=[plan.client_id], detail="changed: recommended_group_kinds")
    return plan


# --- Goals ----------------------------------------------------------------------------------


def goal_refusals(
    *, plan: TreatmentPlan, problem: str, goal: str, objectives: str, target_date: datetime.date | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, value in (("problem", problem), ("goal", goal), ("objectives", objectives)):
        if not (value or "").strip():
            errors[field] = ["This part of the goal is required."]
    if target_date is None:
        errors["target_date"] = ["Give the date the goal should be reached by."]
    elif target_date < plan.started_on:
        errors["target_date"] = [f"The target date is on or after the plan's start ({plan.started_on:%Y-%m-%d})."]
    return errors


@transaction.atomic
def add_goal(
    *,
    plan: TreatmentPlan,
    by: AbstractBaseUser,
    problem: str,
    goal: str,
    objectives: str,
    target_date: datetime.date | None,
) -> Goal:
    """A new active goal, with the first row of its history."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    plan = TreatmentPlan.objects.select_related("client").get(pk=plan.pk)
    _check_writer(by, plan.client)
    errors = goal_refusals(plan=plan, problem=problem, goal=goal, objectives=objectives, target_date=target_date)
    if errors:
        raise ValidationError(errors)
    created = Goal.objects.create(
        plan=plan,
        problem=problem.strip(),
        goal=goal.strip(),
        objectives=_lines(objectives),
        target_date=target_date,
        created_by=by,
    )
    GoalStatusChange.objects.create(
        goal=created, from_status="", to_status=Goal.Status.ACTIVE, changed_at=created.created_at, changed_by=by
    )
    record(Action.CREATE, target=created, clients=[plan.client_id], detail="treatment goal added")
    return created


@transaction.atomic
def edit_goal(
    *,
    goal: Goal,
    by: AbstractBaseUser,
    problem: str,
    goal_text: str,
    objectives: str,
    target_date: datetime.date | None,
) -> Goal:
    """Correct an active goal's words, objectives or target date. A goal that is no longer
    active is history: a changed goal is marked revised and written anew."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    # Lock the goal: an edit racing a status change must not reopen what was just closed.
    goal = Goal.objects.select_for_update().select_related("plan__client").get(pk=goal.pk)
    _check_writer(by, goal.plan.client)
    if not goal.is_active:
        raise ValidationError(
            f"This goal is {goal.get_status_display().lower()}; mark it revised and add the new goal instead."
        )
    errors = goal_refusals(
        plan=goal.plan, problem=problem, goal=goal_text, objectives=objectives, target_date=target_date
    )
    if errors:
        raise ValidationError(errors)
    new = {"problem": problem.strip(), "goal": goal_text.strip(), "objectives": _lines(objectives)}
    changed = [field for field, value in new.items() if getattr(goal, field) != value]
    if goal.target_date != target_date:
        changed.append("target_date")
    for field, value in new.items():
        setattr(goal, field, value)
    goal.target_date = target_date
    goal.save()
    record(
        Action.CHANGE,
        target=goal,
        clients=[goal.plan.client_id],
        detail=f"treatment goal edited ({', '.join(changed) or 'nothing changed'})",
    )
    return goal


def status_refusals(*, goal: Goal, to_status: str, note: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if to_status not in Goal.Status.values:
        errors["to_status"] = ["Choose the goal's new status."]
    elif to_status == goal.status:
        errors["to_status"] = [f"The goal is already {goal.get_status_display().lower()}."]
    if not (note or "").strip():
        errors["note"] = ["Say why the status changes (what was achieved, or what changed)."]
    return errors


@transaction.atomic
def change_goal_status(*, goal: Goal, by: AbstractBaseUser, to_status: str, note: str) -> Goal:
    """Set the goal's status, and keep the change (from, to, when, who, why) in its history."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    # Lock the goal: two changes at once must each find the status the other left, so the
    # history's rows follow one another.
    goal = Goal.objects.select_for_update().select_related("plan").get(pk=goal.pk)
    _check_writer(by, goal.plan.client)
    errors = status_refusals(goal=goal, to_status=to_status, note=note)
    if errors:
        raise ValidationError(errors)
    from_status = goal.status
    goal.status = to_status
    goal.save(update_fields=["status", "updated_at"])
    GoalStatusChange.objects.create(
        goal=goal,
        from_status=from_status,
        to_status=to_status,
        changed_at=timezone.now(),
        changed_by=by,
        note=note.strip(),
    )
    record(
        Action.CHANGE,
        target=goal,
        clients=[goal.plan.client_id],
        detail=f"treatment goal status {from_status} → {to_status}",
    )
    return goal


# --- Reviews --------------------------------------------------------------------------------


def review_refusals(
    *, plan: TreatmentPlan, reviewed_on: datetime.date | None, summary: str, today: datetime.date
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if reviewed_on is None:
        errors["reviewed_on"] = ["Say on which day the plan was reviewed."]
    elif reviewed_on > today:
        errors["reviewed_on"] = ["A review is recorded on its day or after, not ahead."]
    elif reviewed_on < plan.started_on:
        errors["reviewed_on"] = [f"The plan started on {plan.started_on:%Y-%m-%d}; a review comes after."]
    if not (summary or "").strip():
        errors["summary"] = ["Write the review: progress on each goal and what changes."]
    return errors


@transaction.atomic
def record_review(
    *, plan: TreatmentPlan, by: AbstractBaseUser, summary: str, reviewed_on: datetime.date | None = None
) -> PlanReview:
    """A review of the plan (today by default). The plan's next review is due
    ``IOP_PLAN_REVIEW_DAYS`` after its latest review."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    # Lock the plan: two reviews at once must leave the later day as the latest.
    plan = TreatmentPlan.objects.select_for_update().select_related("client").get(pk=plan.pk)
    _check_writer(by, plan.client)
    reviewed_on = reviewed_on or timezone.localdate()
    errors = review_refusals(plan=plan, reviewed_on=reviewed_on, summary=summary, today=timezone.localdate())
    if errors:
        raise ValidationError(errors)
    review = PlanReview.objects.create(plan=plan, reviewed_on=reviewed_on, reviewed_by=by, summary=summary.strip())
    if reviewed_on > plan.last_reviewed_on:
        plan.last_reviewed_on = reviewed_on
        plan.save(update_fields=["last_reviewed_on"])
    record(Action.CREATE, target=review, clients=[plan.client_id], detail="treatment plan reviewed")
    return review


def _lines(text: str) -> str:
    """Objectives one a line, without the blank ones."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())
