import datetime

import pytest

from scheduling.models import WeeklySlot
from scheduling.services import save_slot

MONDAY = datetime.date(2026, 11, 23)


@pytest.fixture
def make_slot():
    def make(group, *, weekday=0, start="18:00", minutes=90, today=MONDAY, **extra):
        slot = WeeklySlot(
            group=group,
            weekday=weekday,
            start_time=datetime.time.fromisoformat(start),
            duration_minutes=minutes,
            default_objective=extra.pop("default_objective", "Identify triggers"),
            effective_from=extra.pop("effective_from", datetime.date(2026, 1, 5)),
            **extra,
        )
        return save_slot(slot=slot, today=today)

    return make
