"""The clinic's clock: days, weeks and lengths of time on the wall clock of the clinic's zone.

Every app reads a day's boundaries from here, so a meeting, a membership, a closure and the
client's week agree on when a day begins, on the nights the clocks change too."""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_start(day: datetime.date, at: datetime.time) -> datetime.datetime:
    """The instant a wall-clock time happens on a day in the clinic's zone.

    On the day the clocks go forward a time inside the skipped stretch (e.g. 02:30 where 02:00
    becomes 03:00) does not exist; it is read with the offset in force before the change, which
    lands it as much later as the clocks jumped (03:30). On the day they go back a time shown
    twice (01:30) is its first occurrence. The README states this rule for staff.

    The result is aware in the clinic's zone, for showing. Add a length to it with
    ``minutes_after``, never with ``+``: see there.
    """
    naive = datetime.datetime.combine(day, at)
    return naive.replace(tzinfo=clinic_zone()).astimezone(datetime.UTC).astimezone(clinic_zone())


def start_of_day(day: datetime.date) -> datetime.datetime:
    """The first instant of a day in the clinic (midnight, or the hour after a skipped one)."""
    return local_start(day, datetime.time.min)


def start_of_day_after(day: datetime.date) -> datetime.datetime:
    """The first instant after a day: the end of a range of days that includes ``day``."""
    return start_of_day(day + datetime.timedelta(days=1))


def start_of(today: datetime.date | None) -> datetime.datetime:
    """``today``'s first instant when a caller names the day, else now."""
    return timezone.now() if today is None else start_of_day(today)


def minutes_after(moment: datetime.datetime, minutes: int) -> datetime.datetime:
    """The instant ``minutes`` of elapsed time after ``moment``.

    Python adds a timedelta to an aware datetime on its wall clock: 01:30 EDT + 60 minutes is
    02:30 EST on the fall-back day, two hours later, and a meeting so made is refused by the
    length check. In UTC the wall clock and elapsed time agree."""
    return moment.astimezone(datetime.UTC) + datetime.timedelta(minutes=minutes)


def monday_of(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())
