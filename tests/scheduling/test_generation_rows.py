"""The meetings generation makes, row by row: on PostgreSQL the database works them out from the
slots' rows (one statement for a batch of groups), elsewhere Python does; both must make the row
``_session_for`` describes, on the days ``_slot_days`` gives, and nothing twice."""

import datetime

import pytest
from django.db.models import Count

from groups.models import TherapyGroup
from iop.clock import local_start, minutes_after, monday_of
from scheduling import services
from scheduling.models import Closure, Session, WeeklySlot
from scheduling.services import generate_sessions
from tests.factories import TherapyGroupFactory, WeeklySlotFactory

pytestmark = pytest.mark.django_db

VIDEO = "https://video.example.org/j/5678"
FIELDS = (
    "group_id",
    "slot_id",
    "slot_date",
    "starts_at",
    "ends_at",
    "objective",
    "facilitator_id",
    "room",
    "video_link",
    "status",
    "cancellation_reason",
    "closure_id",
)


def weekly(weekday: int, first: datetime.date, last: datetime.date) -> list[datetime.date]:
    first += datetime.timedelta(days=(weekday - first.weekday()) % 7)
    return [first + datetime.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)] if first <= last else []


@pytest.fixture
def clinic(therapist, other_therapist, today):
    """Groups and slots that fill a meeting's row each their own way: a slot's own room or the
    group's, a virtual slot, the video link of a hybrid or virtual group, a slot that starts or
    ends inside the window, a group that starts late or ends early."""
    start = monday_of(today)
    # An in-person group that keeps a link for the odd meeting held by video.
    in_person = TherapyGroupFactory(
        facilitator=therapist, room="Room 4", video_link=VIDEO, start_date=start - datetime.timedelta(weeks=8)
    )
    hybrid = TherapyGroupFactory(
        facilitator=other_therapist,
        modality=TherapyGroup.Modality.HYBRID,
        room="Room 7",
        video_link=VIDEO,
        start_date=start - datetime.timedelta(weeks=8),
    )
    online = TherapyGroupFactory(
        facilitator=therapist,
        modality=TherapyGroup.Modality.VIRTUAL,
        room="",
        video_link=VIDEO,
        start_date=start + datetime.timedelta(days=10),
        end_date=start + datetime.timedelta(weeks=5, days=2),
    )
    slots = {
        "group's room": WeeklySlotFactory(group=in_person, weekday=0, start_time=datetime.time(9)),
        "own room, from week 2 to week 4": WeeklySlotFactory(
            group=in_person,
            weekday=2,
            start_time=datetime.time(17, 30),
            duration_minutes=60,
            room="Annex 2",
            default_objective="Practise refusal skills",
            effective_from=start + datetime.timedelta(weeks=2, days=1),
            effective_until=start + datetime.timedelta(weeks=4, days=2),
        ),
        "in-person group, by video": WeeklySlotFactory(
            group=in_person, weekday=5, start_time=datetime.time(11), is_virtual=True
        ),
        "hybrid at the clinic": WeeklySlotFactory(group=hybrid, weekday=1, start_time=datetime.time(13)),
        "hybrid, by video only": WeeklySlotFactory(
            group=hybrid, weekday=3, start_time=datetime.time(19), is_virtual=True
        ),
        "online group, late start, early end": WeeklySlotFactory(
            group=online, weekday=4, start_time=datetime.time(8, 15), is_virtual=True
        ),
    }
    return start, slots


def rows(sessions) -> list[tuple]:
    return sorted(tuple(getattr(session, field) for field in FIELDS) for session in sessions)


def test_every_generated_meeting_is_the_row_its_slot_describes(clinic, today):
    start, slots = clinic
    horizon = today + datetime.timedelta(weeks=6)
    # Two closures over one day: the meeting names the one that began last.
    winter = Closure.objects.create(
        name="Winter break", starts_on=start + datetime.timedelta(weeks=3), ends_on=start + datetime.timedelta(weeks=4)
    )
    snow = Closure.objects.create(
        name="Snow day",
        starts_on=start + datetime.timedelta(weeks=3, days=1),
        ends_on=start + datetime.timedelta(weeks=3, days=1),
    )

    generation = generate_sessions(today=today, weeks=6)

    closures = list(Closure.objects.order_by("-starts_on"))
    expected = [
        services._session_for(slot, day, closures)
        for slot in WeeklySlot.objects.select_related("group")
        for day in services._slot_days(slot, start, horizon)
    ]
    assert rows(Session.objects.all()) == rows(expected)
    assert sorted(generation.made) == sorted(Session.objects.values_list("pk", flat=True))
    assert generation.refused == []

    # The same, by hand, for the rows that differ most.
    own_room = slots["own room, from week 2 to week 4"].sessions.order_by("slot_date")
    assert [(s.slot_date, s.status, s.cancellation_reason, s.closure_id) for s in own_room] == [
        (start + datetime.timedelta(weeks=2, days=2), Session.Status.SCHEDULED, "", None),
        (
            start + datetime.timedelta(weeks=3, days=2),
            Session.Status.CANCELLED,
            "Clinic closed: Winter break",
            winter.pk,
        ),
        (start + datetime.timedelta(weeks=4, days=2), Session.Status.SCHEDULED, "", None),
    ]
    assert {(s.room, s.video_link, s.objective, s.duration_minutes) for s in own_room} == {
        ("Annex 2", "", "Practise refusal skills", 60)
    }
    at_the_clinic = slots["hybrid at the clinic"].sessions.get(slot_date=start + datetime.timedelta(weeks=3, days=1))
    assert (at_the_clinic.room, at_the_clinic.video_link) == ("Room 7", VIDEO)
    assert (at_the_clinic.cancellation_reason, at_the_clinic.closure_id) == ("Clinic closed: Snow day", snow.pk)
    by_video = slots["hybrid, by video only"].sessions.first()
    assert (by_video.room, by_video.video_link) == ("", VIDEO)
    assert {(s.room, s.video_link) for s in slots["group's room"].sessions.all()} == {("Room 4", "")}
    assert {(s.room, s.video_link) for s in slots["in-person group, by video"].sessions.all()} == {("", VIDEO)}
    online = slots["online group, late start, early end"].sessions.order_by("slot_date")
    assert [s.slot_date for s in online] == weekly(
        4, start + datetime.timedelta(days=10), start + datetime.timedelta(weeks=5, days=2)
    )
    first_online = online.first()
    assert first_online.starts_at == local_start(first_online.slot_date, datetime.time(8, 15))
    assert first_online.ends_at == minutes_after(first_online.starts_at, 90)
    assert first_online.facilitator_id == first_online.group.facilitator_id


def test_generating_further_ahead_makes_only_the_weeks_not_made_yet(clinic, today):
    first = generate_sessions(today=today, weeks=2)

    further = generate_sessions(today=today, weeks=5)

    assert first.made and further.made
    assert set(first.made).isdisjoint(further.made)
    assert sorted(first.made + further.made) == sorted(Session.objects.values_list("pk", flat=True))
    made_twice = Session.objects.values("slot", "slot_date").order_by().annotate(n=Count("pk")).filter(n__gt=1)
    assert not made_twice.exists()
    again = generate_sessions(today=today, weeks=5)
    assert (again.made, again.refused) == ([], [])


@pytest.mark.parametrize("groups_per_batch", [1, 3, 50])
def test_a_refused_group_in_a_batch_leaves_the_batchs_other_groups_made(
    therapist, today, monkeypatch, groups_per_batch
):
    monkeypatch.setattr(services, "GENERATION_GROUPS_PER_BATCH", groups_per_batch)
    start = monday_of(today)
    groups = [
        TherapyGroupFactory(facilitator=therapist, room=f"Room {n}", start_date=start - datetime.timedelta(weeks=1))
        for n in range(5)
    ]
    for n, group in enumerate(groups):
        WeeklySlotFactory(group=group, weekday=n, start_time=datetime.time(10))
    # A virtual slot of a group that has no video link: its meetings would have no place at all.
    refused_group = groups[2]
    sound_slot = refused_group.slots.get()
    bad_slot = WeeklySlotFactory(group=refused_group, weekday=5, is_virtual=True)
    TherapyGroup.objects.filter(pk=refused_group.pk).update(video_link="")
    horizon = today + datetime.timedelta(weeks=3)

    generation = generate_sessions(today=today, weeks=3)

    for n, group in enumerate(groups):
        made = sorted(group.sessions.filter(slot__weekday=n).values_list("slot_date", flat=True))
        assert made == weekly(n, start, horizon)
    assert sound_slot.sessions.count() == len(weekly(sound_slot.weekday, start, horizon))
    assert not bad_slot.sessions.exists()
    assert [(r.slot, r.day) for r in generation.refused] == [(bad_slot, day) for day in weekly(5, start, horizon)]
    assert sorted(generation.made) == sorted(Session.objects.values_list("pk", flat=True))

    # The next night: nothing new to make, the same meetings refused again.
    again = generate_sessions(today=today, weeks=3)
    assert again.made == []
    assert [(r.slot, r.day) for r in again.refused] == [(r.slot, r.day) for r in generation.refused]


def test_a_closure_outside_the_window_cancels_nothing_and_one_on_its_first_day_does(group, today):
    start = monday_of(today)
    WeeklySlotFactory(group=group, weekday=0, effective_from=start - datetime.timedelta(weeks=4))
    Closure.objects.create(
        name="Long weekend", starts_on=start - datetime.timedelta(days=3), ends_on=start
    )  # Friday to this Monday
    Closure.objects.create(
        name="Next year", starts_on=start + datetime.timedelta(weeks=9), ends_on=start + datetime.timedelta(weeks=10)
    )

    generate_sessions(today=today, weeks=2)

    assert list(Session.objects.order_by("slot_date").values_list("slot_date", "status", "cancellation_reason")) == [
        (start, Session.Status.CANCELLED, "Clinic closed: Long weekend"),
        (start + datetime.timedelta(weeks=1), Session.Status.SCHEDULED, ""),
        (start + datetime.timedelta(weeks=2), Session.Status.SCHEDULED, ""),
    ]
