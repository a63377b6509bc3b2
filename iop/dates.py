"""The days the clinic's records can mean.

A group, a slot, a closure, an agreement, a membership, an admission or a discharge happens at most
``YEARS_AHEAD`` years after today (nobody plans a group further ahead; 2206 is a typo for 2026) and
at most ``YEARS_BACK`` years before it: far enough that a support group or an agreement that has
run for years keeps a valid date when its record is saved again, near enough to refuse 1026. A
date of birth lies between 1900 and today. Model fields
and forms share these validators, so a date such as 0001-01-01 or 9999-12-31 is a field error
before any date arithmetic (a day after, a week ahead) could overflow on it.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

YEARS_AHEAD = 5
YEARS_BACK = 20
EARLIEST_BIRTH = datetime.date(1900, 1, 1)


def clinic_date_range(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The first and last day a clinic date may be, around ``today`` (default: the clinic's today)."""
    today = today or timezone.localdate()

    def years(count: int) -> datetime.timedelta:
        return datetime.timedelta(days=round(365.25 * count))

    return today - years(YEARS_BACK), today + years(YEARS_AHEAD)


def _day_of(value: datetime.date | datetime.datetime) -> datetime.date:
    # The wall-clock day as written: converting 0001-01-01 between zones would itself overflow.
    return value.date() if isinstance(value, datetime.datetime) else value


def validate_clinic_date(value: datetime.date | datetime.datetime | None) -> None:
    if value is None:
        return
    first, last = clinic_date_range()
    if not first <= _day_of(value) <= last:
        raise ValidationError(
            "Give a date between %(first)s and %(last)s.",
            code="date_out_of_range",
            params={"first": f"{first:%Y-%m-%d}", "last": f"{last:%Y-%m-%d}"},
        )


def validate_date_of_birth(value: datetime.date | None) -> None:
    if value is None:
        return
    today = timezone.localdate()
    if not EARLIEST_BIRTH <= value <= today:
        raise ValidationError(
            "A date of birth lies between %(first)s and today (%(today)s).",
            code="birth_date_out_of_range",
            params={"first": f"{EARLIEST_BIRTH:%Y-%m-%d}", "today": f"{today:%Y-%m-%d}"},
        )


def clinic_date_refusals(value: datetime.date | datetime.datetime | None) -> list[str]:
    """``validate_clinic_date`` as data, for services that list their refusals."""
    try:
        validate_clinic_date(value)
    except ValidationError as error:
        return error.messages
    return []
