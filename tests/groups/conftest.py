import datetime

import pytest
from django.utils import timezone

from tests import helpers


@pytest.fixture
def make_slot():
    """A weekly slot meeting on the weekday of ``days_ahead`` days from today, with its sessions."""

    def make(group, *, days_ahead=1, start="10:00", minutes=90, **extra):
        today = timezone.localdate()
        weekday = (today + datetime.timedelta(days=days_ahead)).weekday()
        return helpers.make_slot(group, weekday=weekday, start=start, minutes=minutes, today=today, **extra)

    return make
