import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from groups.models import TherapyGroup
from iop.clock import local_start
from scheduling import services
from scheduling.models import Closure, Session, WeeklySlot
from scheduling.services import (
    cancel_session,
    delete_slot,
    generate_sessions,
    save_closure,
    save_slot,
    update_session,
)
from tests.factories import AttendanceFactory, GroupNoteFactory, TherapyGroupFactory, WeeklySlotFactory
from tests.helpers import MONDAY

pytestmark = pytest.mark.django_db


def local(dt):
    return timezone.localtime(dt)


def test_a_slot_generates_its_weeks_ahead(group, make_slot):
    slot = make_slot(group, weekday=0, start="18:00")

    sessions = list(slot.sessions.order_by("starts_at"))

    assert len(sessions) == 9  # this Monday and 8 weeks ahead
    assert all(local(s.starts_at).time() == datetime.time(18, 0) for s in sessions)
    assert all(s.duration_minutes == 90 and s.objective == "Identify triggers" for s in sessions)
    assert all(s.facilitator == group.facilitator and s.room == group.room for s in sessions)


def test_generating_twice_creates_nothing_new(group, make_slot):
    make_slot(group)
    before = Session.objects.count()

    assert generate_sessions(today=MONDAY).made == []
    assert Session.objects.count() == before


def test_the_horizon_follows_the_setting(group, make_slot, settings):
    settings.SESSION_GENERATION_WEEKS = 2

    slot = make_slot(group)

    assert slot.sessions.count() == 3


@pytest.mark.parametrize("minutes", [59, 91])
def test_slot_length_outside_60_to_90_is_refused(group, minutes):
    slot = WeeklySlot(
        group=group,
        weekday=0,
        start_time=datetime.time(18),
        duration_minutes=minutes,
        default_objective="x",
        effective_from=MONDAY,
    )

    with pytest.raises(ValidationError, match="between 60 and 90 minutes"):
        save_slot(slot=slot, today=MONDAY)

    assert not WeeklySlot.objects.exists()
    assert not Session.objects.exists()


def test_session_length_is_held_by_the_database(group, make_slot):
    session = make_slot(group).sessions.first()

    with pytest.raises(IntegrityError, match="scheduling_session_length_60_to_90"), transaction.atomic():
        Session.objects.filter(pk=session.pk).update(ends_at=session.starts_at + datetime.timedelta(minutes=120))


def test_a_session_needs_an_objective(group, make_slot):
    session = make_slot(group).sessions.first()

    with pytest.raises(ValidationError) as refused:
        update_session(session=session, objective="")

    assert "objective" in refused.value.message_dict


def test_changing_a_slot_moves_future_sessions_and_leaves_held_ones(group, make_slot):
    slot = make_slot(group, today=datetime.date(2026, 11, 2))
    held = slot.sessions.get(slot_date=datetime.date(2026, 11, 2))
    Session.objects.filter(pk=held.pk).update(status=Session.Status.HELD)
    past = slot.sessions.get(slot_date=datetime.date(2026, 11, 9))

    slot.start_time = datetime.time(17, 0)
    save_slot(slot=slot, today=datetime.date(2026, 11, 20))

    held.refresh_from_db()
    past.refresh_from_db()
    assert local(held.starts_at).time() == datetime.time(18, 0)
    assert local(past.starts_at).time() == datetime.time(18, 0)  # already in the past: history
    future = slot.sessions.filter(slot_date__gte=datetime.date(2026, 11, 23))
    assert future.exists()
    assert all(local(s.starts_at).time() == datetime.time(17, 0) for s in future)


def test_changing_a_slot_keeps_sessions_with_attendance(group, make_slot, client_record):
    from scheduling.enrolment import enroll_client

    enroll_client(client=client_record, group=group, on=datetime.date(2026, 1, 5))
    slot = make_slot(group, today=datetime.date(2026, 11, 2))
    taken = slot.sessions.get(slot_date=datetime.date(2026, 11, 30))
    AttendanceFactory(session=taken, client=client_record)

    slot.start_time = datetime.time(17, 0)
    save_slot(slot=slot, today=datetime.date(2026, 11, 20))

    taken.refresh_from_db()
    assert local(taken.starts_at).time() == datetime.time(18, 0)


def test_deleting_a_slot_keeps_held_history(group, make_slot):
    slot = make_slot(group, today=datetime.date(2026, 11, 2))
    held = slot.sessions.earliest("starts_at")
    Session.objects.filter(pk=held.pk).update(status=Session.Status.HELD)

    delete_slot(slot=slot, today=datetime.date(2026, 11, 3))

    held.refresh_from_db()
    assert held.status == Session.Status.HELD
    others = Session.objects.exclude(pk=held.pk)
    assert others.exists()
    assert set(others.values_list("status", "cancellation_reason")) == {
        (Session.Status.CANCELLED, "This meeting time has been discontinued.")
    }
    assert not WeeklySlot.objects.exists()


def test_a_closure_cancels_the_sessions_it_covers(group, make_slot):
    make_slot(group, weekday=3, start="10:00")

    cancelled = save_closure(
        closure=Closure(name="Thanksgiving", starts_on=datetime.date(2026, 11, 26), ends_on=datetime.date(2026, 11, 27))
    )

    assert len(cancelled) == 1
    session = Session.objects.get(slot_date=datetime.date(2026, 11, 26))
    assert session.status == Session.Status.CANCELLED
    assert session.cancellation_reason == "Clinic closed: Thanksgiving"
    assert Session.objects.filter(status=Session.Status.CANCELLED).count() == 1


def test_sessions_generated_inside_a_closure_are_born_cancelled(group, make_slot):
    save_closure(
        closure=Closure(name="Winter break", starts_on=datetime.date(2026, 12, 24), ends_on=datetime.date(2027, 1, 1))
    )

    make_slot(group, weekday=0)

    assert Session.objects.get(slot_date=datetime.date(2026, 12, 28)).status == Session.Status.CANCELLED


def test_closure_ending_before_it_starts_is_refused(db):
    with pytest.raises(ValidationError, match="cannot end before it starts"):
        save_closure(
            closure=Closure(name="Oops", starts_on=datetime.date(2026, 12, 2), ends_on=datetime.date(2026, 12, 1))
        )
    assert not Closure.objects.exists()


def test_cancelling_needs_a_reason_and_a_held_session_stays_held(group, make_slot):
    session = make_slot(group).sessions.first()

    with pytest.raises(ValidationError, match="Say why"):
        cancel_session(session=session, reason=" ")
    Session.objects.filter(pk=session.pk).update(status=Session.Status.HELD)
    with pytest.raises(ValidationError, match="was held"):
        cancel_session(session=session, reason="Snow")


def test_local_start_is_wall_clock_time(settings):
    settings.TIME_ZONE = "America/Chicago"
    with timezone.override("America/Chicago"):
        assert local_start(datetime.date(2026, 7, 1), datetime.time(18)).utcoffset() == datetime.timedelta(hours=-5)
        assert local_start(datetime.date(2026, 12, 1), datetime.time(18)).utcoffset() == datetime.timedelta(hours=-6)


def test_moving_a_slot_cancels_the_old_meetings_and_makes_new_ones(group, make_slot):
    slot = make_slot(group, weekday=0, start="18:00", today=datetime.date(2026, 11, 23))
    old_ids = set(slot.sessions.values_list("pk", flat=True))

    slot.weekday = 1
    save_slot(slot=slot, today=datetime.date(2026, 11, 23))

    old = Session.objects.filter(pk__in=old_ids)
    assert set(old.values_list("status", flat=True)) == {Session.Status.CANCELLED}
    assert old.first().cancellation_reason == "Rescheduled: this meeting is now on Tuesdays at 18:00."
    assert not old.filter(slot__isnull=False).exists()
    new = slot.sessions.all()
    assert new.count() == 8  # Tuesdays from Nov 24 up to 8 weeks ahead
    assert {local(s.starts_at).weekday() for s in new} == {1}


def test_a_new_objective_reaches_future_meetings_in_place(group, make_slot):
    slot = make_slot(group, today=datetime.date(2026, 11, 23))
    ids = set(slot.sessions.values_list("pk", flat=True))
    edited = slot.sessions.latest("starts_at")
    Session.objects.filter(pk=edited.pk).update(objective="Guest speaker")

    slot.default_objective = "Practise refusal skills"
    save_slot(slot=slot, today=datetime.date(2026, 11, 23))

    assert set(slot.sessions.values_list("pk", flat=True)) == ids
    assert slot.sessions.filter(objective="Practise refusal skills").count() == len(ids) - 1
    edited.refresh_from_db()
    assert edited.objective == "Guest speaker"


def test_changing_a_slot_keeps_a_future_session_that_has_a_note(group, make_slot, therapist):
    slot = make_slot(group, today=datetime.date(2026, 11, 2))
    noted = slot.sessions.get(slot_date=datetime.date(2026, 11, 30))
    GroupNoteFactory(session=noted, created_by=therapist.user)

    slot.start_time = datetime.time(17, 0)
    save_slot(slot=slot, today=datetime.date(2026, 11, 20))

    noted.refresh_from_db()
    assert (noted.status, noted.slot_id) == (Session.Status.SCHEDULED, slot.pk)


def test_a_session_with_attendance_cannot_be_cancelled_moved_or_closed(group, make_slot, client_record):
    from scheduling.enrolment import enroll_client

    enroll_client(client=client_record, group=group, on=datetime.date(2026, 1, 5))
    session = make_slot(group).sessions.first()
    AttendanceFactory(session=session, client=client_record)

    with pytest.raises(ValidationError, match="cannot be cancelled"):
        cancel_session(session=session, reason="Snow")
    with pytest.raises(ValidationError, match="can no longer change"):
        update_session(session=session, objective="Something else")
    day = local(session.starts_at).date()
    assert save_closure(closure=Closure(name="Snow day", starts_on=day, ends_on=day)) == []

    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_extending_a_slot_keeps_its_meetings_and_adds_the_new_ones(group, make_slot):
    slot = make_slot(group, effective_until=datetime.date(2026, 12, 14), today=datetime.date(2026, 11, 23))
    kept = set(slot.sessions.values_list("pk", flat=True))

    slot.effective_until = None
    save_slot(slot=slot, today=datetime.date(2026, 11, 23))

    assert not Session.objects.filter(status=Session.Status.CANCELLED).exists()
    assert kept < set(slot.sessions.values_list("pk", flat=True))


def test_shortening_a_slot_cancels_only_the_meetings_after_its_new_end(group, make_slot):
    slot = make_slot(group, today=datetime.date(2026, 11, 23))

    slot.effective_until = datetime.date(2026, 12, 7)
    save_slot(slot=slot, today=datetime.date(2026, 11, 23))

    scheduled = slot.sessions.filter(status=Session.Status.SCHEDULED)
    assert sorted(scheduled.values_list("slot_date", flat=True)) == [
        datetime.date(2026, 11, 23),
        datetime.date(2026, 11, 30),
        datetime.date(2026, 12, 7),
    ]
    cancelled = Session.objects.filter(status=Session.Status.CANCELLED)
    assert cancelled.count() == 6
    assert set(cancelled.values_list("cancellation_reason", flat=True)) == {"This meeting time has been discontinued."}


# --- Many groups: a few at a time, each in a transaction of its own -------------------------


def test_generation_goes_a_few_groups_at_a_time_and_a_refused_group_leaves_the_others(therapist, monkeypatch):
    monkeypatch.setattr(services, "GENERATION_GROUPS_PER_BATCH", 2)
    groups = [TherapyGroupFactory(facilitator=therapist, room=f"Room {n}") for n in range(5)]
    for group in groups:
        WeeklySlotFactory(group=group, weekday=1, start_time=datetime.time(10))
    # A virtual slot of a group with no video link: its meetings would have no place at all.
    refused_group = groups[2]
    bad_slot = WeeklySlotFactory(group=refused_group, weekday=3, is_virtual=True)
    TherapyGroup.objects.filter(pk=refused_group.pk).update(video_link="")

    generation = generate_sessions(today=MONDAY, weeks=3)

    weeks = 3  # this week's meeting and those up to three weeks from Monday
    assert {r.slot.pk for r in generation.refused} == {bad_slot.pk}
    assert len(generation.refused) == weeks
    assert {r.reasons for r in generation.refused} == {("A session needs a room or a video link.",)}
    for group in groups:
        assert group.sessions.filter(slot__weekday=1).count() == weeks
    assert not bad_slot.sessions.exists()
    assert sorted(generation.made) == sorted(Session.objects.values_list("pk", flat=True))
    assert len(generation.made) == weeks * len(groups)


def test_generating_again_across_batches_makes_nothing_new(therapist, monkeypatch):
    monkeypatch.setattr(services, "GENERATION_GROUPS_PER_BATCH", 2)
    for n in range(3):
        WeeklySlotFactory(group=TherapyGroupFactory(facilitator=therapist, room=f"Room {n}"), weekday=2)
    first = generate_sessions(today=MONDAY, weeks=2)

    again = generate_sessions(today=MONDAY, weeks=2)

    assert len(first.made) == 6  # two Wednesdays for each of three groups
    assert again.made == [] and again.refused == []
    assert Session.objects.count() == 6
