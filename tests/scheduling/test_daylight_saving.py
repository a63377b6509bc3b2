"""America/Chicago changes clocks on 2026-03-08 (02:00 → 03:00) and 2026-11-01 (02:00 → 01:00)."""

import datetime

import pytest
from django.utils import timezone

from iop.clock import local_start

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chicago(settings):
    settings.TIME_ZONE = "America/Chicago"
    with timezone.override("America/Chicago"):
        yield


def wall_clock(session):
    return timezone.localtime(session.starts_at).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    "weekday, today",
    [(0, datetime.date(2026, 2, 23)), (6, datetime.date(2026, 10, 19))],
)
def test_an_evening_group_stays_at_six_across_the_change(group, make_slot, weekday, today):
    slot = make_slot(group, weekday=weekday, start="18:00", today=today)

    times = {timezone.localtime(s.starts_at).time() for s in slot.sessions.all()}
    offsets = {timezone.localtime(s.starts_at).utcoffset() for s in slot.sessions.all()}

    assert times == {datetime.time(18, 0)}
    assert len(offsets) == 2  # both sides of the change are covered


def test_a_session_spanning_the_change_keeps_its_wall_clock_length(group, make_slot):
    slot = make_slot(group, weekday=6, start="18:00", minutes=60, today=datetime.date(2026, 3, 2))

    session = slot.sessions.get(slot_date=datetime.date(2026, 3, 8))

    assert wall_clock(session) == "2026-03-08 18:00"
    assert session.duration_minutes == 60


def test_a_slot_in_the_skipped_hour_starts_an_hour_later_on_spring_forward_day(group, make_slot):
    """02:30 does not exist on 2026-03-08; the session starts at 03:30 CDT, and keeps its length."""
    slot = make_slot(group, weekday=6, start="02:30", minutes=60, room="Room 9", today=datetime.date(2026, 2, 23))

    spring = slot.sessions.get(slot_date=datetime.date(2026, 3, 8))
    week_after = slot.sessions.get(slot_date=datetime.date(2026, 3, 15))
    week_before = slot.sessions.get(slot_date=datetime.date(2026, 3, 1))

    assert wall_clock(spring) == "2026-03-08 03:30"
    assert spring.duration_minutes == 60
    assert wall_clock(week_after) == "2026-03-15 02:30"
    assert wall_clock(week_before) == "2026-03-01 02:30"


def test_an_ambiguous_time_on_fall_back_day_is_its_first_occurrence():
    first = local_start(datetime.date(2026, 11, 1), datetime.time(1, 30))

    assert first.utcoffset() == datetime.timedelta(hours=-5)  # still CDT
