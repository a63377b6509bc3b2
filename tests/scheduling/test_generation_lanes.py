"""Generation on two connections at once (PostgreSQL, outside a transaction): the batches are
shared between two lanes, each on a connection of its own; the meetings made and the refusals
are those of one connection making every batch in turn."""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction

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


def test_a_meeting_another_run_makes_meanwhile_is_passed_over_not_refused(therapist, today):
    """The batch's statement skips the meetings made when it begins; one another transaction
    makes in the meantime (here: made, not committed yet) fails it, and the fallback passes it by."""
    start = monday_of(today)
    horizon = today + datetime.timedelta(weeks=3)
    (group,) = make_groups(therapist, start, 1)
    slot = group.slots.order_by("pk").first()
    taken = weekly(slot.weekday, start, horizon)[1]
    made_by_other = threading.Event()
    other_ids = []

    def other_run():
        try:
            with transaction.atomic():
                other_ids.extend(services._insert_sessions([slot], taken, taken, []))
                made_by_other.set()
                _wait_for_a_backend_waiting_on_a_lock()
        finally:
            connection.close()

    other = threading.Thread(target=other_run)
    other.start()
    assert made_by_other.wait(10)
    generation = generate_sessions(today=today, weeks=3)
    other.join()

    assert generation.refused == []
    assert len(other_ids) == 1 and other_ids[0] not in generation.made
    for each in group.slots.all():
        assert sorted(each.sessions.values_list("slot_date", flat=True)) == weekly(each.weekday, start, horizon)
    assert sorted(generation.made + other_ids) == sorted(Session.objects.values_list("pk", flat=True))


def _wait_for_a_backend_waiting_on_a_lock(seconds: float = 10) -> None:
    """Until another connection to this database waits for a lock (the generation's insert waits
    for the other run's transaction, whose meeting it would duplicate)."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the generation never waited for the other run's meeting")
