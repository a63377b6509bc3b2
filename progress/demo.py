"""The demo therapist's history for seed_demo: past attendance with a member who dominates and one
who rarely speaks, progress notes (most signed, the latest left to sign) and a session today.

Idempotent: sessions that already have attendance or a note are left as they are."""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clients.models import Client, OrientationItem
from clients.services import record_orientation_step
from groups.models import Therapist, TherapyGroup
from iop.clock import minutes_after, start_of_day
from progress import plans
from progress.attendance import AttendanceEntry, record_attendance, session_mode
from progress.checkins import record_measure, save_check_in
from progress.discharge import save_summary, sign_summary
from progress.models import Attendance, DischargeSummary, GroupNote, MeasureResponse, TreatmentPlan
from progress.notes import attending_clients, save_group_note, sign_note
from progress.selectors import goals_for_note, roster_for_session, sessions_for_therapist
from scheduling import topics
from scheduling.enrolment import discharge_client
from scheduling.models import Session, Topic
from scheduling.services import mark_session_held, swap_topic

# The one password of every demo login (README); seed_demo sets it, the demo notes are signed with it.
DEMO_PASSWORD = "demo-pass-2026"
DEMO_THERAPIST = "therapist"
# The demo client is not in this group (see _today_session).
TODAY_SESSION_GROUP = "Teen Coping Skills"
# The portal's demo login (seed_demo's DEMO_CLIENT_CHART).
DEMO_CLIENT_CHART = "IOP-1001"

OBSERVATIONS = {
    0: "Quiet throughout; listened, declined to share when invited.",
    1: "Spoke briefly when invited; eye contact improving.",
    2: "Took part in the exercise and offered one example.",
    3: "Engaged actively and gave supportive feedback to peers.",
    4: "Spoke at length several times; needed prompting to leave room for others.",
}
SHARED = {
    "topic": "Recognising early warning signs",
    "interventions": "Psychoeducation on the stress cycle; guided grounding exercise; paired practice of coping plans.",
    "group_dynamics": "Cohesive overall. One member spoke at length and was redirected to turn-taking; "
    "quieter members were invited in through a round.",
}
PLAN = "Continue attending; practise the grounding exercise daily and log triggers."


def _level(index: int, turn: int, *, dominant: int, reluctant: int) -> int:
    if index == dominant:
        return Attendance.Participation.DOMINATED if turn % 4 else Attendance.Participation.ACTIVE
    if index == reluctant:
        return Attendance.Participation.NONE if turn % 2 else Attendance.Participation.WHEN_INVITED
    return (index + turn) % 3 + 1


def _record(session: Session, user, turn: int) -> None:
    roster = list(roster_for_session(session).order_by("chart_number"))
    dominant, reluctant = 1, 3
    mode = session_mode(session)
    entries = []
    for index, client in enumerate(roster):
        missed = (index + turn) % 7 == 6 and index not in (dominant, reluctant)
        if not client.agreement_in_force or missed:
            status = Attendance.Status.EXCUSED if client.agreement_in_force else Attendance.Status.ABSENT
            entries.append(AttendanceEntry(client=client, status=status, minutes_attended=0, mode=mode))
            continue
        level = _level(index, turn, dominant=dominant, reluctant=reluctant)
        late = (index + turn) % 5 == 4
        entries.append(
            AttendanceEntry(
                client=client,
                status=Attendance.Status.LATE if late else Attendance.Status.PRESENT,
                minutes_attended=session.duration_minutes - (15 if late else 0),
                mode=mode,
                participation=level,
                observation=OBSERVATIONS[level],
            )
        )
    record_attendance(session=session, entries=entries, recorded_by=user)


def _write_note(session: Session, user) -> GroupNote:
    attending = attending_clients(session)
    levels = dict(
        Attendance.objects.filter(session=session, client__in=attending).values_list("client_id", "participation")
    )
    individual = {
        client.pk: {
            "behaviour": OBSERVATIONS[levels[client.pk]],
            "intervention": "Reflective listening; invited to name one coping skill.",
            "response": "Named a coping skill to try before the next session.",
            "plan": PLAN,
        }
        for client in attending
    }
    # The golden thread: each part links the member's active treatment goals.
    for client_pk, goals in goals_for_note(attending, session).items():
        individual[client_pk]["goals"] = [goal.pk for goal in goals if goal.is_active]
    return save_group_note(session=session, author=user, objective=session.objective, individual=individual, **SHARED)


def _today_session(therapist: Therapist, today: datetime.date) -> Session | None:
    """Give the demo a session to take attendance in today, when none has begun yet today.

    The demo therapist covers, as a substitute, a group the demo client is not in, so that the
    client's week has the same shape whatever day the demo is made. It began an hour ago (or at
    midnight), so its attendance and note can be written at once."""
    start = start_of_day(today)
    begun = sessions_for_therapist(therapist).filter(starts_at__gte=start, starts_at__lte=timezone.now())
    if begun.exclude(status=Session.Status.CANCELLED).exists():
        return None
    group = TherapyGroup.objects.filter(name=TODAY_SESSION_GROUP).first()
    if group is None:
        return None
    # An hour of elapsed time ago, then back to the top of that hour; ``replace`` keeps the fold,
    # so on the morning the clocks go back 01:00 stays the 01:00 that began then.
    an_hour_ago = timezone.localtime(timezone.now() - datetime.timedelta(hours=1))
    if an_hour_ago.date() == today:
        starts_at = an_hour_ago.replace(minute=0, second=0, microsecond=0)
    else:
        starts_at = start_of_day(today)
    return Session.objects.create(
        group=group,
        starts_at=starts_at,
        ends_at=minutes_after(starts_at, 60),
        objective="Practise a grounding skill together",
        facilitator=therapist,
        room=group.room,
        video_link="" if group.room else group.video_link,
    )


@transaction.atomic
def seed_progress(*, stdout) -> None:
    user = get_user_model().objects.filter(username=DEMO_THERAPIST).select_related("therapist").first()
    therapist = getattr(user, "therapist", None)
    if therapist is None:
        return
    today = timezone.localdate()
    _today_session(therapist, today)

    past = list(
        sessions_for_therapist(therapist)
        .exclude(status=Session.Status.CANCELLED)
        .filter(ends_at__lt=start_of_day(today))
        .order_by("starts_at")
    )
    recorded = notes = signed = 0
    # Members joined on their admission dates; the oldest sessions may have had no one yet.
    past = [session for session in past if roster_for_session(session).exists()]
    for turn, session in enumerate(past):
        if not session.attendances.exists():
            _record(session, user, turn)
            recorded += 1
        if session.status == Session.Status.SCHEDULED:
            mark_session_held(session=session)
        note = GroupNote.objects.filter(session=session).first()
        if note is None:
            note = _write_note(session, user)
            notes += 1
        # The latest note is left unsigned, so the demo shows the reminder to sign it.
        if not note.is_signed and session is not past[-1]:
            try:
                sign_note(note=note, user=user, password=DEMO_PASSWORD)
            except ValidationError as refusal:
                # E.g. the demo therapist changed their password: leave the note to sign by hand.
                stdout.write(f"Note of {session} left unsigned: {' '.join(refusal.messages)}")
            else:
                signed += 1
    stdout.write(
        f"Therapist demo: {len(past)} past sessions; attendance taken for {recorded}, "
        f"{notes} notes written, {signed} signed."
    )


# --- Check-ins, questionnaires and a safety alert ---------------------------------------------

DEMO_MEASURE_WEEKS = 8
# Clients of the demo therapist's "Mindfulness & Grounding Skills": one not on track (reliably
# worse on the PHQ-9), one whose PHQ-9 raised the open safety alert.
NOT_ON_TRACK_CHART = "IOP-1016"
ALERT_CHART = "IOP-1017"
# The demo client's course, every two weeks from admission: a reliable improvement on the PHQ-9
# (16 to 10) and the GAD-7 (12 to 8): on track on both.
DEMO_PHQ9 = [16, 15, 12, 10]
DEMO_GAD7 = [12, 11, 10, 8]
DEMO_CHECK_INS = [(3, 3, 7), (4, 3, 6), (4, 4, 6), (5, 5, 5), (5, 6, 4), (6, 6, 4), (6, 7, 3), (7, 7, 3)]
WHAT_HELPED = [
    "Getting to every session.",
    "Calling my sister when the evening got hard.",
    "The grounding exercise on the bus.",
    "",
    "Walking after dinner instead of sitting with it.",
    "Writing down triggers like we practised.",
    "Planning the weekend on Friday.",
    "Sleeping at the same time every night.",
]


def _answers(instrument: str, total: int, *, item_9: int = 0) -> dict[str, int]:
    """Answers that add up to ``total``, spread over the items (item 9 as given)."""
    count = 9 if instrument == "phq9" else 7
    scored = count - 1 if instrument == "phq9" else count
    remaining = total - item_9
    answers = {}
    for number in range(1, scored + 1):
        answers[f"item_{number}"] = min(
            3, remaining // (scored - number + 1) + (1 if remaining % (scored - number + 1) else 0)
        )
        remaining -= answers[f"item_{number}"]
    if instrument == "phq9":
        answers["item_9"] = item_9
    return answers


def _at(days_ago: int) -> datetime.datetime:
    return start_of_day(timezone.localdate() - datetime.timedelta(days=days_ago)) + datetime.timedelta(hours=19)


@transaction.atomic
def seed_measures(*, stdout, demo_client: Client) -> None:
    """Eight weeks of the demo client's check-ins and fortnightly questionnaires, a client not on
    track and an open safety alert in the demo therapist's group. A client who has answered
    anything already is left as they are."""
    today = timezone.localdate()
    made = []
    if not MeasureResponse.objects.filter(client=demo_client).exists():
        for weeks_ago, (mood, coping, cravings) in zip(range(DEMO_MEASURE_WEEKS, 0, -1), DEMO_CHECK_INS, strict=True):
            save_check_in(
                client=demo_client,
                mood=mood,
                coping=coping,
                cravings=cravings,
                what_helped=WHAT_HELPED[DEMO_MEASURE_WEEKS - weeks_ago],
                today=today - datetime.timedelta(weeks=weeks_ago),
            )
        for turn, (phq9, gad7) in enumerate(zip(DEMO_PHQ9, DEMO_GAD7, strict=True)):
            days_ago = 7 * DEMO_MEASURE_WEEKS - 14 * turn
            for instrument, total in (("phq9", phq9), ("gad7", gad7)):
                record_measure(
                    client=demo_client,
                    instrument=instrument,
                    answers=_answers(instrument, total),
                    difficulty=1,
                    taken_on=_at(days_ago),
                )
        made.append(demo_client.display_name)
    off_track = Client.objects.filter(chart_number=NOT_ON_TRACK_CHART).first()
    if off_track is not None and not MeasureResponse.objects.filter(client=off_track).exists():
        for total, days_ago in ((8, 20), (14, 6)):
            record_measure(client=off_track, instrument="phq9", answers=_answers("phq9", total), taken_on=_at(days_ago))
        made.append(off_track.display_name)
    alerted = Client.objects.filter(chart_number=ALERT_CHART).first()
    if alerted is not None and not MeasureResponse.objects.filter(client=alerted).exists():
        record_measure(
            client=alerted, instrument="phq9", answers=_answers("phq9", 15, item_9=1), difficulty=2, taken_on=_at(1)
        )
        made.append(alerted.display_name)
    stdout.write(f"Questionnaires demo: made for {', '.join(made) if made else 'no one (already there)'}.")


# --- Treatment plans ----------------------------------------------------------------------------

# A client of the demo therapist's "Weekend Planning Check-in" whose plan, started on admission,
# was never reviewed: overdue on the dashboard and in the admin.
OVERDUE_PLAN_CHART = "IOP-1028"
# The demo client's goals: problem in their words, goal, objectives, weeks to the target, and
# what became of it (status and why).
DEMO_GOALS = [
    (
        "I drink when I can't sleep, and then I feel worse the next day.",
        "Sleep through most nights without alcohol.",
        "Uses the wind-down routine at least 5 of 7 nights.\nNo alcohol after 8 pm for 4 weeks in a row.",
        10,
        None,
    ),
    (
        "I skip group when work gets busy.",
        "Attend every scheduled session.",
        "Attends 100% of scheduled sessions for 4 weeks.\nCalls ahead when a session must be missed.",
        6,
        ("met", "Attended every session for five weeks; calls ahead when late."),
    ),
    (
        "Panic attacks at work, two or three a week.",
        "Have no more than one panic attack a week at work.",
        "Uses paced breathing at the first sign of panic.\nLogs each attack and what helped.",
        8,
        ("revised", "Attacks now mostly on the commute, not at work: goal rewritten around the commute."),
    ),
]
DEMO_REVIEW = (
    "Sleep improving (wind-down routine 4 of 7 nights). Attendance goal met. Panic goal revised "
    "to the commute. PHQ-9 reliably improved; continue the plan."
)


@transaction.atomic
def seed_plans(*, stdout, demo_client: Client) -> None:
    """The demo client's treatment plan (three goals: active, met, revised, with their history,
    and one review) and a plan overdue for review. A client who has a plan is left as they are.
    Run before the notes, which link the active goals."""
    user = get_user_model().objects.filter(username=DEMO_THERAPIST).first()
    if user is None:
        return
    today = timezone.localdate()
    made = []
    if not TreatmentPlan.objects.filter(client=demo_client).exists() and demo_client.admission_date:
        started_on = demo_client.admission_date + datetime.timedelta(days=1)
        plan = plans.start_plan(client=demo_client, by=user, started_on=started_on)
        for problem, goal_text, objectives, weeks, outcome in DEMO_GOALS:
            goal = plans.add_goal(
                plan=plan,
                by=user,
                problem=problem,
                goal=goal_text,
                objectives=objectives,
                target_date=started_on + datetime.timedelta(weeks=weeks),
            )
            if outcome is not None:
                plans.change_goal_status(goal=goal, by=user, to_status=outcome[0], note=outcome[1])
        # Reviewed four weeks ago: the next review is due in a couple of days.
        plans.record_review(plan=plan, by=user, summary=DEMO_REVIEW, reviewed_on=today - datetime.timedelta(days=28))
        made.append(demo_client.display_name)
    overdue = Client.objects.filter(chart_number=OVERDUE_PLAN_CHART).first()
    if overdue is not None and overdue.admission_date and not TreatmentPlan.objects.filter(client=overdue).exists():
        try:
            plan = plans.start_plan(client=overdue, by=user, started_on=overdue.admission_date)
            plans.add_goal(
                plan=plan,
                by=user,
                problem="Weekends are when I use.",
                goal="Plan every weekend before Friday evening.",
                objectives="A written weekend plan each Friday for 6 weeks.\nTwo sober activities each weekend.",
                target_date=overdue.admission_date + datetime.timedelta(weeks=8),
            )
        except ValidationError as refusal:
            stdout.write(f"No plan for {overdue.display_name}: {' '.join(refusal.messages)}")
        else:
            made.append(overdue.display_name)
    stdout.write(f"Treatment plans demo: made for {', '.join(made) if made else 'no one (already there)'}.")


# --- Discharge summaries ------------------------------------------------------------------------

# Two clients of the demo therapist's "Mindfulness & Grounding Skills", discharged by seed_demo:
# one whose summary is signed, one whose draft waits on the dashboard.
SIGNED_DISCHARGE_CHART = "IOP-1022"
DRAFT_DISCHARGE_CHART = "IOP-1023"
DEMO_NARRATIVE = (
    "Completed the program. Attended most scheduled sessions and took an active part in the skills "
    "exercises; uses grounding and paced breathing when anxious. Mood and sleep improved over the stay."
)
DEMO_RECOMMENDATIONS = (
    "Weekly outpatient therapy; the alumni support group on Thursdays; keep the written relapse-prevention "
    "plan and the crisis line (988) at hand."
)


@transaction.atomic
def seed_discharges(*, stdout) -> None:
    """Discharge two of the demo therapist's clients today, one with a signed summary and one with
    a draft. A client already discharged, or with a summary, is left as they are."""
    user = get_user_model().objects.filter(username=DEMO_THERAPIST).first()
    if user is None:
        return
    made = []
    for chart, sign in ((SIGNED_DISCHARGE_CHART, True), (DRAFT_DISCHARGE_CHART, False)):
        client = Client.objects.filter(chart_number=chart).first()
        if client is None or DischargeSummary.objects.filter(client=client).exists():
            continue
        try:
            if client.status == Client.Status.ACTIVE:
                client = discharge_client(client=client, on=timezone.localdate(), note="Completed the program.")
            summary = save_summary(
                client=client,
                author=user,
                narrative=DEMO_NARRATIVE,
                recommendations=DEMO_RECOMMENDATIONS if sign else "",
            )
            if sign:
                sign_summary(summary=summary, user=user, password=DEMO_PASSWORD)
        except ValidationError as refusal:
            stdout.write(f"No discharge summary for {client.display_name}: {' '.join(refusal.messages)}")
        else:
            made.append(f"{client.display_name} ({'signed' if sign else 'draft'})")
    stdout.write(f"Discharge summaries demo: made for {', '.join(made) if made else 'no one (already there)'}.")


# --- Preparation before the first group, and a topic cycle -----------------------------------

# Admitted at intake, agreement signed, two of the five orientation items gone through.
ORIENTATION_UNFINISHED_CHART = "IOP-1032"
TOPIC_CYCLE_GROUP = "Understanding Anxiety & Depression"
TOPIC_CYCLE = [
    "How anxiety works: the body's alarm and what keeps it going",
    "Depression: the low-mood cycle and behavioural activation",
    "Sleep and mood: habits that help",
    "Thoughts and feelings: catching unhelpful thinking",
    "Stress and the body: breathing and relaxation",
    "Triggers and early warning signs",
    "Connection: asking for and accepting support",
    "Keeping well: a plan for hard days",
]
SWAPPED_TOPIC = "The group's choice: questions and review of the cycle so far"


def seed_preparation(*, stdout) -> None:
    """The demo client has finished their orientation; an intake client has gone through two of
    its five items; the psychoeducation group has an eight-topic cycle, one meeting of which has
    another topic. Idempotent: a checklist or a cycle already there is left as it is."""
    staff = get_user_model().objects.filter(username="staff").first()
    if staff is None:
        return
    today = timezone.localdate()
    done = {
        DEMO_CLIENT_CHART: list(OrientationItem),
        ORIENTATION_UNFINISHED_CHART: [OrientationItem.ACTIVE_LISTENING, OrientationItem.RESPECTFUL_COMMUNICATION],
    }
    for chart, items in done.items():
        client = Client.objects.filter(chart_number=chart).first()
        if client is None or client.orientation_steps.exists():
            continue
        for days_ago, item in enumerate(reversed(items)):
            try:
                record_orientation_step(
                    client=client, item=item, covered_by=staff, covered_on=today - datetime.timedelta(days=days_ago)
                )
            except ValidationError as refusal:
                stdout.write(f"Orientation of {client.display_name}: {' '.join(refusal.messages)}")
    group = TherapyGroup.objects.filter(name=TOPIC_CYCLE_GROUP).first()
    if group is not None and not group.topics.exists():
        for position, title in enumerate(TOPIC_CYCLE, start=1):
            topics.save_topic(topic=Topic(group=group, position=position, title=title))
        _titles, coming = topics.coming_topics(group, shown=3)
        if len(coming) == 3:
            swap_topic(session=coming[2].session, objective=SWAPPED_TOPIC)
    stdout.write(
        f"Preparation demo: {ORIENTATION_UNFINISHED_CHART} has not finished orientation; "
        f"{TOPIC_CYCLE_GROUP} follows a {len(TOPIC_CYCLE)}-topic cycle."
    )


# --- A session nobody documented ------------------------------------------------------------

UNDOCUMENTED_OBJECTIVE = "Share one thing that went well this week"


@transaction.atomic
def seed_undocumented_session(*, stdout) -> None:
    """Make sure the demo has a past session nobody documented (no attendance, no note): it shows
    as "Not documented" in the admin's sessions list and on the clinic's dashboard. It is a
    meeting of a group the demo therapist does not lead, so ``seed_progress`` never fills it in;
    the generated history of those groups usually holds some already, and then nothing is made."""
    now = timezone.now()
    if Session.objects.not_documented(now=now).exists():
        stdout.write(f"Not documented: {Session.objects.not_documented(now=now).count()} past sessions.")
        return
    group = (
        TherapyGroup.objects.exclude(status=TherapyGroup.Status.ENDED)
        .exclude(facilitator__user__username=DEMO_THERAPIST)
        .exclude(co_facilitator__user__username=DEMO_THERAPIST)
        .order_by("name")
        .first()
    )
    if group is None:
        return
    # Yesterday at seven in the morning, before any of the demo's groups meet.
    starts_at = start_of_day(timezone.localdate(now) - datetime.timedelta(days=1)) + datetime.timedelta(hours=7)
    Session.objects.create(
        group=group,
        starts_at=starts_at,
        ends_at=minutes_after(starts_at, 60),
        objective=UNDOCUMENTED_OBJECTIVE,
        facilitator=group.facilitator,
        room=group.room,
        video_link="" if group.room else group.video_link,
    )
    stdout.write(f"Not documented: yesterday's 7:00 session of {group.name}.")
