"""Every start time of the day, on both changes of the year, in zones that change at different
hours and by different amounts: a meeting lasts its minutes of elapsed time and starts where the
README's rule puts it (a time the clock skips: as much later as the clock jumped; a time the clock
shows twice: its first occurrence). The dates are the changes of 2027, named because the test is
about those days; generation is asked for them explicitly, so the test does not age."""

import datetime
import logging
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from groups.models import TherapyGroup
from iop.clock import local_start, minutes_after, monday_of
from scheduling.models import Session, WeeklySlot
from scheduling.services import generate_sessions, save_slot
from scheduling.tasks import generate_sessions_ahead
from tests.factories import TherapyGroupFactory

pytestmark = pytest.mark.django_db

CHANGES = [
    # zone, day the clocks change, how: New York and London change an hour at different times of
    # night; Sydney's fall-back repeats 02:00–03:00; Lord Howe moves by half an hour.
    ("America/New_York", datetime.date(2027, 3, 14)),  # 02:00 → 03:00
    ("America/New_York", datetime.date(2027, 11, 7)),  # 02:00 → 01:00
    ("Europe/London", datetime.date(2027, 3, 28)),  # 01:00 → 02:00
    ("Europe/London", datetime.date(2027, 10, 31)),  # 02:00 → 01:00
    ("Australia/Sydney", datetime.date(2027, 4, 4)),  # 03:00 → 02:00
    ("Australia/Sydney", datetime.date(2027, 10, 3)),  # 02:00 → 03:00
    ("Australia/Lord_Howe", datetime.date(2027, 4, 4)),  # 02:00 → 01:30
    ("Australia/Lord_Howe", datetime.date(2027, 10, 3)),  # 02:00 → 02:30
]
EVERY_HALF_HOUR = [datetime.time(hour, minute) for hour in range(24) for minute in (0, 30)]


def offsets_around(day: datetime.date, zone: zoneinfo.ZoneInfo) -> tuple[datetime.timedelta, datetime.timedelta]:
    noon = datetime.time(12)
    before = datetime.datetime.combine(day - datetime.timedelta(days=1), noon, tzinfo=zone).utcoffset()
    after = datetime.datetime.combine(day + datetime.timedelta(days=1), noon, tzinfo=zone).utcoffset()
    return before, after


def readme_start(day: datetime.date, at: datetime.time, zone: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The README's rule, worked out from the two UTC offsets of the day, not from local_start."""
    wall = datetime.datetime.combine(day, at)
    before, after = offsets_around(day, zone)
    readings = {(wall - offset).replace(tzinfo=datetime.UTC) for offset in (before, after)}
    real = sorted(r for r in readings if r.astimezone(zone).replace(tzinfo=None) == wall)
    if real:
        return real[0]  # shown once, or twice: the first occurrence
    # Skipped: as much later as the clock jumped, i.e. the wall time plus the jump, after it.
    return (wall + (after - before) - after).replace(tzinfo=datetime.UTC)


@pytest.fixture
def clinic_in(settings):
    def move_to(zone_name: str) -> zoneinfo.ZoneInfo:
        # clinic_zone() reads the setting on each call; Django's own default zone is cached, and
        # the settings fixture's change signal clears it.
        settings.TIME_ZONE = zone_name
        return zoneinfo.ZoneInfo(zone_name)

    return move_to


@pytest.mark.parametrize("minutes", [60, 90])
@pytest.mark.parametrize("zone_name, change_day", CHANGES, ids=[f"{z}-{d}" for z, d in CHANGES])
def test_every_start_time_lasts_its_minutes_and_starts_where_the_readme_says(
    clinic_in, therapist, zone_name, change_day, minutes
):
    zone = clinic_in(zone_name)
    before, after = offsets_around(change_day, zone)
    assert before != after, "the day named is a change of the clocks"
    slots = {}
    for at in EVERY_HALF_HOUR:
        # One group per start time: some times land on the same instant on the change day.
        group = TherapyGroupFactory(facilitator=therapist, start_date=change_day - datetime.timedelta(weeks=4))
        slots[at] = WeeklySlot.objects.create(
            group=group,
            weekday=change_day.weekday(),
            start_time=at,
            duration_minutes=minutes,
            default_objective="Practise a grounding skill",
            effective_from=change_day - datetime.timedelta(weeks=4),
        )

    with timezone.override(zone):
        generation = generate_sessions(today=change_day - datetime.timedelta(days=13), weeks=4)

    wrong = {}
    for at, slot in slots.items():
        sessions = list(Session.objects.filter(slot=slot).order_by("slot_date"))
        expected = [
            (s.slot_date, readme_start(s.slot_date, at, zone), datetime.timedelta(minutes=minutes)) for s in sessions
        ]
        made = [(s.slot_date, s.starts_at, s.ends_at - s.starts_at) for s in sessions]
        if made != expected or change_day not in [s.slot_date for s in sessions]:
            wrong[at.isoformat("minutes")] = made
    assert wrong == {}
    assert [str(refusal) for refusal in generation.refused] == []


def test_a_time_shown_twice_is_the_first_and_a_skipped_time_moves_by_the_jump(clinic_in, therapist):
    """The rule in two cases a reader can check by hand (New York, 2027)."""
    zone = clinic_in("America/New_York")
    for at in ("01:30", "02:30"):
        group = TherapyGroupFactory(facilitator=therapist, start_date=datetime.date(2027, 1, 4))
        WeeklySlot.objects.create(
            group=group,
            weekday=6,
            start_time=datetime.time.fromisoformat(at),
            duration_minutes=60,
            default_objective="Plan the week",
            effective_from=datetime.date(2027, 1, 4),
        )

    generate_sessions(today=datetime.date(2027, 3, 8), weeks=1)
    generate_sessions(today=datetime.date(2027, 11, 1), weeks=1)

    def local(day, at):
        session = Session.objects.get(slot__start_time=at, slot_date=day)
        return [f"{timezone.localtime(moment, zone):%H:%M %Z}" for moment in (session.starts_at, session.ends_at)]

    assert local(datetime.date(2027, 3, 14), "01:30") == ["01:30 EST", "03:30 EDT"]
    assert local(datetime.date(2027, 3, 14), "02:30") == ["03:30 EDT", "04:30 EDT"]
    assert local(datetime.date(2027, 11, 7), "01:30") == ["01:30 EDT", "01:30 EST"]
    assert local(datetime.date(2027, 11, 7), "02:30") == ["02:30 EST", "03:30 EST"]


# --- One slot's problem never stops the others ------------------------------------------------


@pytest.fixture
def hybrid_gone_in_person(therapist, today):
    """A hybrid group with a virtual Tuesday slot, later made an in-person group: its video link
    goes, the slot stays, and its meetings would have neither a room nor a link."""
    group = TherapyGroupFactory(
        facilitator=therapist,
        modality=TherapyGroup.Modality.HYBRID,
        video_link="https://video.example.org/j/1234",
        start_date=today - datetime.timedelta(weeks=2),
    )
    slot = save_slot(
        slot=WeeklySlot(
            group=group,
            weekday=1,
            start_time=datetime.time(18),
            duration_minutes=60,
            is_virtual=True,
            default_objective="Check in",
            effective_from=today - datetime.timedelta(weeks=2),
        ),
        today=today - datetime.timedelta(weeks=2),
    )
    group.modality, group.video_link = TherapyGroup.Modality.IN_PERSON, ""
    group.full_clean()
    group.save()
    return slot


def days_on(weekday: int, first: datetime.date, last: datetime.date) -> list[datetime.date]:
    first += datetime.timedelta(days=(weekday - first.weekday()) % 7)
    return [first + datetime.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)] if first <= last else []


@pytest.fixture
def sound_groups(other_therapist, today):
    """Three groups with nothing wrong, each with a slot starting today."""
    groups = []
    for weekday in (0, 2, 3):
        group = TherapyGroupFactory(facilitator=other_therapist, start_date=today - datetime.timedelta(weeks=2))
        WeeklySlot.objects.create(
            group=group,
            weekday=weekday,
            start_time=datetime.time(10),
            duration_minutes=90,
            default_objective="Identify triggers",
            effective_from=today,
        )
        groups.append(group)
    return groups


def sessions_due(groups, today, weeks) -> int:
    horizon = today + datetime.timedelta(weeks=weeks)
    return sum(len(days_on(group.slots.get().weekday, today, horizon)) for group in groups)


def test_a_slot_the_database_refuses_is_reported_and_every_other_group_gets_its_sessions(
    hybrid_gone_in_person, sound_groups, today
):
    slot = hybrid_gone_in_person
    horizon = today + datetime.timedelta(weeks=8)
    not_yet_made = [day for day in days_on(1, monday_of(today), horizon) if not slot.sessions.filter(slot_date=day)]

    generation = generate_sessions(today=today, weeks=8)

    for group in sound_groups:
        assert sorted(group.sessions.values_list("slot_date", flat=True)) == days_on(
            group.slots.get().weekday, today, horizon
        )
    assert len(generation.made) == sessions_due(sound_groups, today, 8)
    assert not_yet_made, "the window reaches past the meetings made before the change"
    assert [(r.slot, r.day) for r in generation.refused] == [(slot, day) for day in not_yet_made]
    assert {r.reasons for r in generation.refused} == {("A session needs a room or a video link.",)}


def test_a_meeting_refused_on_one_day_leaves_the_slots_other_days(therapist, today):
    """Refusals are per meeting: a group that already meets at that moment (a meeting moved onto
    the slot's time) loses that one occurrence, reported, and keeps its other weeks."""
    group = TherapyGroupFactory(facilitator=therapist, start_date=today - datetime.timedelta(weeks=2))
    slot = WeeklySlot.objects.create(
        group=group,
        weekday=today.weekday(),
        start_time=datetime.time(23),
        duration_minutes=60,
        default_objective="Identify triggers",
        effective_from=today,
    )
    taken = today + datetime.timedelta(weeks=2)
    starts_at = local_start(taken, datetime.time(23))
    Session.objects.create(
        group=group,
        starts_at=starts_at,
        ends_at=minutes_after(starts_at, 60),
        objective="Moved here",
        facilitator=therapist,
        room="Room 101",
    )

    generation = generate_sessions(today=today, weeks=4, slots=[slot])

    assert [(r.day, r.reasons) for r in generation.refused] == [(taken, ("The group already meets at that moment.",))]
    assert sorted(slot.sessions.values_list("slot_date", flat=True)) == [
        today + datetime.timedelta(weeks=n) for n in (0, 1, 3, 4)
    ]


def test_generate_now_says_which_meetings_were_not_made(
    staff_client, hybrid_gone_in_person, sound_groups, today, settings
):
    response = staff_client.post(reverse("admin:scheduling_session_generate"), {"weeks": "8"}, follow=True)

    page = response.content.decode()
    assert f"{sessions_due(sound_groups, today, 8)} new sessions generated" in page
    assert f"Not generated: {hybrid_gone_in_person}" in page
    assert "A session needs a room or a video link." in page


def test_the_nightly_run_logs_each_meeting_it_could_not_make(
    hybrid_gone_in_person, sound_groups, today, settings, caplog
):
    with caplog.at_level(logging.ERROR, logger="scheduling.tasks"):
        made = generate_sessions_ahead()

    assert made == sessions_due(sound_groups, today, settings.SESSION_GENERATION_WEEKS)
    lines = [record.getMessage() for record in caplog.records]
    assert lines
    assert all(line.startswith(f"Session not generated: {hybrid_gone_in_person}") for line in lines)
