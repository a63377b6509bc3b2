"""A factory for every model; dates follow the test clock (``tests/clock.py``), never literals that age.

Groups start, clients are admitted and slots take effect on ``start_monday()``: the Monday a year
before the clock's today, so every weekday of the past year falls inside a group's life.
"""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from clients.models import AgreementSignature, Client, ConfidentialityAgreement
from clients.services import sign_agreement
from groups.models import Membership, Therapist, TherapyGroup
from progress.models import (
    Addendum,
    Attendance,
    CheckIn,
    Goal,
    GoalStatusChange,
    GroupNote,
    IndividualNote,
    MeasureResponse,
    PlanReview,
    TreatmentPlan,
)
from scheduling.models import Closure, Reminder, Session, WeeklySlot
from scheduling.services import record_meeting

PASSWORD = "a-long-test-password-2026"
WEEKS_BACK = 52
# Set (by a conftest, with monkeypatch) where a suite is written against a fixed calendar.
FIXED_START: datetime.date | None = None


def start_monday(weeks_back: int = WEEKS_BACK) -> datetime.date:
    """The Monday ``weeks_back`` weeks before the week of the clinic's today (or ``FIXED_START``)."""
    if FIXED_START is not None:
        return FIXED_START
    today = timezone.localdate()
    return today - datetime.timedelta(weeks=weeks_back, days=today.weekday())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConfidentialityAgreement
        django_get_or_create = ["version"]

    version = 1
    text = "What is said in group stays in group."
    effective_on = factory.LazyFunction(lambda: start_monday() - datetime.timedelta(days=4))


class ClientFactory(factory.django.DjangoModelFactory):
    """An active adult client who has signed the latest agreement (``signed=False`` to skip)."""

    class Meta:
        model = Client
        skip_postgeneration_save = True

    chart_number = factory.Sequence(lambda n: f"T-{n:05d}")
    legal_first_name = factory.Faker("first_name")
    legal_last_name = factory.Faker("last_name")
    date_of_birth = datetime.date(1990, 5, 17)
    email = factory.LazyAttribute(lambda c: f"{c.chart_number.lower()}@example.org")
    status = Client.Status.ACTIVE
    admission_date = factory.LazyFunction(start_monday)
    reminder_consent = True

    @factory.post_generation
    def signed(client, create, extracted, **kwargs):
        if create and extracted is not False:
            agreement = ConfidentialityAgreement.objects.order_by("-version").first() or AgreementFactory()
            sign_agreement(client=client, agreement=agreement, witnessed_by=UserFactory())


class SignatureFactory(factory.django.DjangoModelFactory):
    """A signature of the agreement in force, witnessed now (for a client made with ``signed=False``)."""

    class Meta:
        model = AgreementSignature

    client = factory.SubFactory(ClientFactory, signed=False)
    agreement = factory.LazyFunction(
        lambda: ConfidentialityAgreement.objects.order_by("-version").first() or AgreementFactory()
    )
    signed_at = factory.LazyFunction(timezone.now)
    method = AgreementSignature.Method.PAPER
    witnessed_by = factory.SubFactory(UserFactory)


class TherapistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapist

    user = factory.SubFactory(UserFactory)
    credentials = "LCSW"


class TherapyGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TherapyGroup

    name = factory.Sequence(lambda n: f"Coping skills {n}")
    kind = TherapyGroup.Kind.SKILLS_DEVELOPMENT
    capacity = 8
    facilitator = factory.SubFactory(TherapistFactory)
    modality = TherapyGroup.Modality.IN_PERSON
    room = "Room 101"
    start_date = factory.LazyFunction(start_monday)


class MembershipFactory(factory.django.DjangoModelFactory):
    """An active member since the group's first day (``groups.services.enroll_client`` checks the rules)."""

    class Meta:
        model = Membership

    client = factory.SubFactory(ClientFactory)
    group = factory.SubFactory(TherapyGroupFactory)
    status = Membership.Status.ACTIVE
    joined_on = factory.LazyAttribute(lambda m: m.group.start_date)
    joined_at = factory.LazyAttribute(
        lambda m: timezone.make_aware(datetime.datetime.combine(m.joined_on, datetime.time.min))
    )


class WeeklySlotFactory(factory.django.DjangoModelFactory):
    """A Monday-evening slot from the group's first day; saved as is, without generating sessions
    (``tests.helpers.make_slot`` saves through the service)."""

    class Meta:
        model = WeeklySlot

    group = factory.SubFactory(TherapyGroupFactory)
    weekday = 0
    start_time = datetime.time(18, 0)
    duration_minutes = 90
    default_objective = "Identify triggers"
    effective_from = factory.LazyAttribute(lambda s: s.group.start_date)


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    name = "Staff training"
    starts_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=7))
    ends_on = factory.LazyAttribute(lambda c: c.starts_on)


class SessionFactory(factory.django.DjangoModelFactory):
    """A scheduled meeting that started two hours ago and lasted 90 minutes, led by the group's facilitator."""

    class Meta:
        model = Session

    class Params:
        minutes = 90

    group = factory.SubFactory(TherapyGroupFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=2))
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + datetime.timedelta(minutes=s.minutes))
    objective = "Identify triggers"
    facilitator = factory.LazyAttribute(lambda s: s.group.facilitator)
    room = factory.LazyAttribute(lambda s: s.group.room)
    status = Session.Status.SCHEDULED
    cancellation_reason = factory.LazyAttribute(
        lambda s: "Clinic closed" if s.status == Session.Status.CANCELLED else ""
    )


class ReminderFactory(factory.django.DjangoModelFactory):
    """A pending email, due a day before its session."""

    class Meta:
        model = Reminder

    session = factory.SubFactory(
        SessionFactory, starts_at=factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=2))
    )
    client = factory.SubFactory(ClientFactory)
    channel = Reminder.Channel.EMAIL
    kind = "24h"
    session_starts_at = factory.LazyAttribute(lambda r: r.session.starts_at)
    send_at = factory.LazyAttribute(lambda r: r.session.starts_at - datetime.timedelta(hours=24))


class AttendanceFactory(factory.django.DjangoModelFactory):
    """Present for the whole session and taking part (``progress.attendance.record_attendance`` checks the rules)."""

    class Meta:
        model = Attendance
        skip_postgeneration_save = True

    session = factory.SubFactory(SessionFactory)
    client = factory.SubFactory(ClientFactory)
    status = Attendance.Status.PRESENT
    minutes_attended = factory.LazyAttribute(lambda a: a.session.duration_minutes)
    participation = Attendance.Participation.TOOK_PART
    recorded_by = factory.LazyAttribute(lambda a: a.session.facilitator.user)

    @factory.post_generation
    def meeting_recorded(attendance, create, extracted, **kwargs):
        # As record_attendance does: the meeting is history from its first record.
        if create:
            record_meeting(session=attendance.session)


class GroupNoteFactory(factory.django.DjangoModelFactory):
    """An unsigned note by the session's facilitator (``progress.notes.save_group_note`` checks the rules)."""

    class Meta:
        model = GroupNote
        skip_postgeneration_save = True

    session = factory.SubFactory(SessionFactory)
    topic = "Triggers and cravings"
    objective = factory.LazyAttribute(lambda n: n.session.objective)
    interventions = "Psychoeducation on triggers; paired practice of urge surfing."
    group_dynamics = "Members listened well and gave each other feedback."
    created_by = factory.LazyAttribute(lambda n: n.session.facilitator.user)

    @factory.post_generation
    def meeting_recorded(note, create, extracted, **kwargs):
        # As save_group_note does: the meeting is history from its first record.
        if create:
            record_meeting(session=note.session)


class IndividualNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IndividualNote

    group_note = factory.SubFactory(GroupNoteFactory)
    client = factory.SubFactory(ClientFactory)
    behaviour = "Engaged and shared one trigger."
    plan = "Practise daily."


class AddendumFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Addendum

    group_note = factory.SubFactory(GroupNoteFactory)
    author = factory.LazyAttribute(lambda a: a.group_note.created_by)
    text = "Late entry: the member called after the session to say the exercise helped."


class MeasureResponseFactory(factory.django.DjangoModelFactory):
    """A PHQ-9 (by default) answered in the portal, with answers that add up to ``total`` and
    item 9 at 0 (no safety alert): made directly, without the service."""

    class Meta:
        model = MeasureResponse

    client = factory.SubFactory(ClientFactory)
    instrument = MeasureResponse.Instrument.PHQ9
    occasion = MeasureResponse.Occasion.FOLLOW_UP
    source = MeasureResponse.Source.PORTAL
    taken_on = factory.LazyFunction(timezone.now)
    total = 9

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        count = 9 if kwargs["instrument"] == MeasureResponse.Instrument.PHQ9 else 7
        # Item 9 stays 0 (a PHQ-9 with it above 0 comes through progress.checkins.record_measure).
        scored = count - 1 if count == 9 else count
        remaining = kwargs["total"]
        for number in range(1, 10):
            value = None
            if number <= count:
                value = min(3, remaining) if number <= scored else 0
                remaining -= value
            kwargs.setdefault(f"item_{number}", value)
        return super()._create(model_class, *args, **kwargs)


class CheckInFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckIn

    client = factory.SubFactory(ClientFactory)
    week = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=timezone.localdate().weekday()))
    mood = 5
    coping = 5
    cravings = 3
    what_helped = "Walking after dinner."


class TreatmentPlanFactory(factory.django.DjangoModelFactory):
    """A plan started today, not reviewed yet (``progress.plans.start_plan`` checks the rules)."""

    class Meta:
        model = TreatmentPlan

    client = factory.SubFactory(ClientFactory)
    started_on = factory.LazyFunction(timezone.localdate)
    last_reviewed_on = factory.LazyAttribute(lambda p: p.started_on)
    created_by = factory.SubFactory(UserFactory)


class GoalFactory(factory.django.DjangoModelFactory):
    """An active goal with the first row of its history, as ``progress.plans.add_goal`` leaves it."""

    class Meta:
        model = Goal
        skip_postgeneration_save = True

    plan = factory.SubFactory(TreatmentPlanFactory)
    problem = "I drink when I can't sleep."
    goal = "Sleep without drinking."
    objectives = "Uses the wind-down routine 5 of 7 nights.\nNo drinks after 8 pm for 4 weeks."
    target_date = factory.LazyAttribute(lambda g: g.plan.started_on + datetime.timedelta(days=60))
    created_by = factory.LazyAttribute(lambda g: g.plan.created_by)

    @factory.post_generation
    def history(goal, create, extracted, **kwargs):
        if create:
            GoalStatusChange.objects.create(
                goal=goal, from_status="", to_status=goal.status, changed_at=goal.created_at, changed_by=goal.created_by
            )


class PlanReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanReview

    plan = factory.SubFactory(TreatmentPlanFactory)
    reviewed_on = factory.LazyAttribute(lambda r: r.plan.started_on)
    reviewed_by = factory.LazyAttribute(lambda r: r.plan.created_by)
    summary = "Sleeping better most nights; keep both objectives."
