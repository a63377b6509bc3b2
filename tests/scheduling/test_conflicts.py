import datetime

import pytest
from django.core.exceptions import ValidationError

from groups.models import Membership
from scheduling.enrolment import enroll_client
from scheduling.models import Session, WeeklySlot
from scheduling.services import save_slot, update_session
from tests.factories import TherapyGroupFactory
from tests.helpers import MONDAY

pytestmark = pytest.mark.django_db


def slot_for(group, *, weekday=0, start="18:00", minutes=90, **extra):
    extra.setdefault("effective_from", MONDAY)
    return WeeklySlot(
        group=group,
        weekday=weekday,
        start_time=datetime.time.fromisoformat(start),
        duration_minutes=minutes,
        default_objective="Coping skills",
        **extra,
    )


def test_a_facilitator_cannot_lead_two_overlapping_slots(group, make_slot, therapist):
    make_slot(group, start="18:00")
    second = TherapyGroupFactory(facilitator=therapist, room="Room 202")
    sessions_before = Session.objects.count()

    with pytest.raises(ValidationError) as refused:
        save_slot(slot=slot_for(second, start="19:00"), today=MONDAY)

    assert f"already leads {group.name} on Monday 18:00–19:30" in str(refused.value)
    assert WeeklySlot.objects.count() == 1
    assert Session.objects.count() == sessions_before


def test_a_co_facilitator_counts_as_leading(group, make_slot, therapist, other_therapist):
    make_slot(group, start="18:00")
    co_led = TherapyGroupFactory(facilitator=other_therapist, co_facilitator=therapist, room="Room 202")

    with pytest.raises(ValidationError, match="already leads"):
        save_slot(slot=slot_for(co_led, start="18:30"), today=MONDAY)


def test_back_to_back_slots_do_not_conflict(group, make_slot, therapist):
    make_slot(group, start="18:00", minutes=60)
    second = TherapyGroupFactory(facilitator=therapist, room="Room 101")

    save_slot(slot=slot_for(second, start="19:00", minutes=60), today=MONDAY)

    assert WeeklySlot.objects.count() == 2


def test_a_room_cannot_be_booked_twice_at_once(group, make_slot, other_therapist):
    make_slot(group, start="18:00")
    elsewhere = TherapyGroupFactory(facilitator=other_therapist, room=group.room)

    with pytest.raises(ValidationError) as refused:
        save_slot(slot=slot_for(elsewhere, start="18:45"), today=MONDAY)

    assert refused.value.message_dict["room"] == [
        f"{group.room} is already booked by {group.name} on Monday 18:00–19:30."
    ]


def test_slots_that_never_run_at_the_same_time_do_not_conflict(group, make_slot, other_therapist):
    make_slot(group, start="18:00", effective_until=datetime.date(2026, 12, 31))
    later = TherapyGroupFactory(facilitator=other_therapist, room=group.room)

    save_slot(slot=slot_for(later, start="18:00", effective_from=datetime.date(2027, 1, 4)), today=MONDAY)


def test_a_substitute_who_is_busy_is_refused(group, make_slot, other_therapist):
    make_slot(group, start="18:00")
    other_group = TherapyGroupFactory(facilitator=other_therapist, room="Room 303")
    make_slot(other_group, start="18:00")
    session = group.sessions.first()

    with pytest.raises(ValidationError) as refused:
        update_session(session=session, facilitator=other_therapist)

    assert "already leads" in refused.value.message_dict["facilitator"][0]
    session.refresh_from_db()
    assert session.facilitator == group.facilitator


def test_moving_one_session_into_a_booked_room_is_refused(group, make_slot, other_therapist):
    make_slot(group, start="18:00")
    other_group = TherapyGroupFactory(facilitator=other_therapist, room="Room 303")
    make_slot(other_group, start="10:00")
    session = other_group.sessions.first()

    with pytest.raises(ValidationError, match="already booked"):
        update_session(
            session=session,
            room=group.room,
            starts_at=group.sessions.first().starts_at,
            ends_at=group.sessions.first().ends_at,
        )


def test_a_client_cannot_join_a_group_that_meets_while_another_of_theirs_does(
    group, make_slot, client_record, other_therapist
):
    make_slot(group, start="18:00")
    enroll_client(client=client_record, group=group)
    clashing = TherapyGroupFactory(facilitator=other_therapist, room="Room 202")
    make_slot(clashing, start="19:00")

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client_record, group=clashing)

    assert "at the same time as" in refused.value.message_dict["client"][0]
    assert Membership.objects.filter(client=client_record).count() == 1


def test_a_client_can_join_a_group_on_another_day(group, make_slot, client_record, other_therapist):
    make_slot(group, start="18:00")
    enroll_client(client=client_record, group=group)
    tuesday = TherapyGroupFactory(facilitator=other_therapist, room="Room 202")
    make_slot(tuesday, weekday=1, start="18:00")

    assert enroll_client(client=client_record, group=tuesday).status == Membership.Status.ACTIVE


def test_moving_a_slot_onto_another_group_of_its_members_is_refused(group, make_slot, client_record, other_therapist):
    slot = make_slot(group, weekday=0, start="18:00")
    enroll_client(client=client_record, group=group)
    tuesday = TherapyGroupFactory(facilitator=other_therapist, room="Room 202")
    make_slot(tuesday, weekday=1, start="18:00")
    enroll_client(client=client_record, group=tuesday)
    sessions_before = list(Session.objects.order_by("pk").values_list("pk", "starts_at", "status"))

    slot.weekday = 1
    with pytest.raises(ValidationError) as refused:
        save_slot(slot=slot, today=MONDAY)

    assert f"{client_record.display_name} also attends {tuesday.name}" in str(refused.value)
    assert list(Session.objects.order_by("pk").values_list("pk", "starts_at", "status")) == sessions_before
