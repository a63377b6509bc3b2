"""The demo therapist's history for seed_demo: past attendance with a member who dominates and one
who rarely speaks, progress notes (most signed, the latest left to sign) and a session today.

Idempotent: sessions that already have attendance or a note are left as they are."""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from groups.models import Therapist, TherapyGroup
from iop.clock import minutes_after, start_of_day
from progress.attendance import AttendanceEntry, record_attendance, session_mode
from progress.models import Attendance, GroupNote
from progress.notes import attending_clients, save_group_note, sign_note
from progress.selectors import roster_for_session, sessions_for_therapist
from scheduling.models import Session
from scheduling.services import mark_session_held

# The one password of every demo login (README); seed_demo sets it, the demo notes are signed with it.
DEMO_PASSWORD = "demo-pass-2026"
DEMO_THERAPIST = "therapist"
# The demo client is not in this group (see _today_session).
TODAY_SESSION_GROUP = "Teen Coping Skills"

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
