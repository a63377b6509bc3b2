"""Generation on two connections at once (PostgreSQL, outside a transaction): the batches are
shared between two lanes, each on a connection of its own; the meetings made and the refusals
are those of one connection making every batch in turn."""

import datetime
import threading

import pytest

from groups.models import TherapyGroup
from iop.clock import monday_of
from scheduling import services
from scheduling.models import Closure, Session
from scheduling.services import generate_sessions
from tests.factories import TherapyGroupFactory, WeeklySlotFactory
from tests.scheduling.test_generation_rows import FIELDS, weekly

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VIDEO = "https://video.example.org/j/4321"


@pytest.fixture
def lanes_seen(monkeypatch):
    """The threads that inserted meetings: the test fails if nothing ran beside the caller."""
    seen = set()
    insert = services._insert_sessions

    def watched(*args, **kwargs):
        seen.add(threading.current_thread().name)
        return insert(*args, **kwargs)

    monkeypatch.setattr(services, "_insert_sessions", watched)
    return seen


def make_groups(therapist, start: datetime.date, count: int) -> list[TherapyGroup]:
    groups = []
    for n in range(count):
        group = TherapyGroupFactory(
            facilitator=therapist,
            room=f"Room {n}",
            video_link=VIDEO if n % 2 else "",
            modality=TherapyGroup.Modality.HYBRID if n % 2 else TherapyGroup.Modality.IN_PERSON,
            start_date=start - datetime.timedelta(weeks=2),
        )
        WeeklySlotFactory(group=group, weekday=n % 5, start_time=datetime.time(9 + n % 8))
        WeeklySlotFactory(group=group, weekday=(n + 2) % 7, start_time=datetime.time(19), duration_minutes=90)
        groups.append(group)
    return groups


def rows() -> list[tuple]:
    return list(Session.objects.order_by("slot_id", "slot_date").values_list(*FIELDS))


def test_two_connections_make_the_same_meetings_as_one(therapist, today, monkeypatch, lanes_seen):
    monkeypatch.setattr(services, "GENERATION_GROUPS_PER_BATCH", 2)
    start = monday_of(today)
    make_groups(therapist, start, 7)  # four batches: one for each lane, then each to the lane free first
    Closure.objects.create(
        name="Staff day", starts_on=start + datetime.timedelta(weeks=1), ends_on=start + datetime.timedelta(weeks=1)
    )

    monkeypatch.setattr(services, "GENERATION_CONNECTIONS", 2)
    on_two = generate_sessions(today=today, weeks=4)
    made_on_two = rows()
    assert len(lanes_seen) == 2 and threading.current_thread().name not in lanes_seen
    Session.objects.all().delete()
    lanes_seen.clear()
    monkeypatch.setattr(services, "GENERATION_CONNECTIONS", 1)
    on_one = generate_sessions(today=today, weeks=4)

    assert lanes_seen == {threading.current_thread().name}
    assert made_on_two == rows()
    assert len(on_two.made) == len(on_one.made) == len(made_on_two)
    assert on_two.refused == on_one.refused == []
    assert any(row[FIELDS.index("status")] == Session.Status.CANCELLED for row in made_on_two)
    again = generate_sessions(today=today, weeks=4)
    assert (again.made, again.refused) == ([], [])


def test_a_refused_group_in_either_lane_leaves_every_other_meeting_made(therapist, today, monkeypatch, lanes_seen):
    monkeypatch.setattr(services, "GENERATION_GROUPS_PER_BATCH", 2)
    monkeypatch.setattr(services, "GENERATION_CONNECTIONS", 2)
    start = monday_of(today)
    groups = make_groups(therapist, start, 6)  # batches [0, 1] [2, 3] [4, 5]: each lane begins with one
    # Virtual slots of in-person groups with no video link: their meetings would have no place.
    bad_slots = [WeeklySlotFactory(group=groups[n], weekday=5, is_virtual=True) for n in (0, 2)]
    TherapyGroup.objects.filter(pk__in=[groups[0].pk, groups[2].pk]).update(video_link="")
    horizon = today + datetime.timedelta(weeks=3)

    generation = generate_sessions(today=today, weeks=3)

    assert len(lanes_seen) == 2
    refused = sorted((r.slot.pk, r.day) for r in generation.refused)
    assert refused == sorted((slot.pk, day) for slot in bad_slots for day in weekly(5, start, horizon))
    assert {r.reasons for r in generation.refused} == {("A session needs a room or a video link.",)}
    for group in groups:
        for slot in group.slots.exclude(pk__in=[slot.pk for slot in bad_slots]):
            made = sorted(slot.sessions.values_list("slot_date", flat=True))
            assert made == weekly(slot.weekday, start, horizon)
    assert not Session.objects.filter(slot__in=bad_slots).exists()
    assert sorted(generation.made) == sorted(Session.objects.values_list("pk", flat=True))
