"""Every test runs at a known moment on the clinic's wall clock.

The moment is ``--today`` (a date, or a date and a time) at noon unless a time is given; without the
option it is the date the run started. ``pytest --today=2028-02-29`` runs the whole suite as if it were
a leap day; ``pytest --today=2027-03-14T01:30`` as if it were the half hour before the clocks go forward.
A test that needs another moment says so with ``@pytest.mark.now("2026-11-01T01:30")``; everything else
writes its dates relative to the ``today`` and ``now`` fixtures, never as literals that age.

The clock ticks from that moment (worker threads and timeouts keep working); only where it starts is fixed.
"""

import datetime
import zoneinfo

import pytest
import time_machine
from django.conf import settings

NOON = datetime.time(12, 0)


def parse_moment(value: str) -> datetime.datetime:
    """``2027-03-14`` (noon that day) or ``2027-03-14T01:30``, naive, on the clinic's wall clock."""
    try:
        if "T" in value or " " in value:
            return datetime.datetime.fromisoformat(value)
        return datetime.datetime.combine(datetime.date.fromisoformat(value), NOON)
    except ValueError as error:
        raise pytest.UsageError(f"--today / now(...) expects YYYY-MM-DD or YYYY-MM-DDTHH:MM, not {value!r}") from error


def clinic_moment(wall_clock: datetime.datetime) -> datetime.datetime:
    """The aware instant the clinic's clock shows ``wall_clock`` (the later one when an hour repeats)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    moment = wall_clock.replace(tzinfo=zone)
    # A wall-clock time skipped by a spring-forward change does not exist: take the hour after it.
    round_trip = moment.astimezone(datetime.UTC).astimezone(zone)
    return round_trip if round_trip.replace(tzinfo=None) != wall_clock else moment


def pytest_addoption(parser):
    parser.addoption(
        "--today",
        default=None,
        metavar="YYYY-MM-DD[THH:MM]",
        help="run every test as if it were this day (at noon, or at the time given) on the clinic's clock",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "now(moment): run this test at this moment of the clinic's wall clock")
    option = config.getoption("--today")
    # Read once, before any test travels: a run that crosses midnight still has one "today".
    config.stash[START] = parse_moment(option) if option else datetime.datetime.combine(datetime.date.today(), NOON)


def pytest_report_header(config):
    return f"clinic clock starts at {config.stash[START].isoformat(timespec='minutes')} (--today to change)"


START = pytest.StashKey[datetime.datetime]()


def hard_days(run_date: datetime.date, zone_name: str) -> list[datetime.datetime]:
    """Wall-clock moments, a year or two after ``run_date``, where date arithmetic goes wrong.

    The spring-forward and fall-back days of the clinic's zone (at 01:30, in the hour that is skipped
    or repeated where the change is at 02:00), the next leap day late in the evening, New Year's Eve a
    quarter of an hour before midnight, and just after midnight two years on."""
    zone = zoneinfo.ZoneInfo(zone_name)
    year = run_date.year + 1

    def offset(day: datetime.date) -> datetime.timedelta:
        return datetime.datetime.combine(day, NOON, tzinfo=zone).utcoffset()

    days = [datetime.date(year, 1, 1) + datetime.timedelta(days=n) for n in range(366)]
    changes = [day for day in days[1:] if offset(day) != offset(day - datetime.timedelta(days=1))]
    forward = next((day for day in changes if offset(day) > offset(day - datetime.timedelta(days=1))), days[69])
    back = next((day for day in changes if offset(day) < offset(day - datetime.timedelta(days=1))), days[305])
    leap_year = next(y for y in range(year, year + 4) if y % 4 == 0 and (y % 100 or y % 400 == 0))
    late, early = datetime.time(1, 30), datetime.time(0, 15)
    return [
        datetime.datetime.combine(forward, late),
        datetime.datetime.combine(back, late),
        datetime.datetime(leap_year, 2, 29, 23, 30),
        datetime.datetime(year, 12, 31, 23, 45),
        datetime.datetime.combine(run_date.replace(year=run_date.year + 2, day=min(run_date.day, 28)), early),
    ]


def hard_day_for(run_date: datetime.date, zone_name: str) -> datetime.datetime:
    """One of ``hard_days``, a different one each day CI runs."""
    days = hard_days(run_date, zone_name)
    return days[run_date.toordinal() % len(days)]


if __name__ == "__main__":
    # `python -m tests.clock` prints today's hard day for CI's second run (.ci/run).
    import os

    print(hard_day_for(datetime.date.today(), os.environ.get("CLINIC_TIME_ZONE", "America/Chicago")).isoformat())


@pytest.fixture(autouse=True)
def clock(request):
    """Fixes "now" for the test; ``clock.move_to(...)`` travels on from there."""
    marker = request.node.get_closest_marker("now")
    wall_clock = parse_moment(marker.args[0]) if marker else request.config.stash[START]
    with time_machine.travel(clinic_moment(wall_clock), tick=True) as traveller:
        yield traveller


@pytest.fixture
def now(clock) -> datetime.datetime:
    from django.utils import timezone

    return timezone.now()


@pytest.fixture
def today(clock) -> datetime.date:
    from django.utils import timezone

    return timezone.localdate()
