import datetime

import pytest

from scheduling.enrolment import enroll_client
from tests import factories, helpers
from tests.helpers import MONDAY


@pytest.fixture(autouse=True)
def scheduling_calendar(monkeypatch):
    """This suite is written against the 2026 calendar (its daylight-saving days, ``MONDAY``): its
    groups start, and its clients are admitted, on the first Monday of 2026."""
    monkeypatch.setattr(factories, "FIXED_START", datetime.date(2026, 1, 5))


@pytest.fixture
def make_slot():
    def make(group, *, weekday=0, start="18:00", minutes=90, today=MONDAY, **extra):
        return helpers.make_slot(group, weekday=weekday, start=start, minutes=minutes, today=today, **extra)

    return make


@pytest.fixture
def member(client_record, group):
    """The client of the story, a member of ``group`` since the first Monday of 2026."""
    enroll_client(client=client_record, group=group, on=datetime.date(2026, 1, 5))
    return client_record
